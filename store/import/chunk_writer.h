// Stores the chunks of one file: hashes and compresses planned chunks in
// parallel windows, skips chunks the store already has, and returns the
// file's recipe and tensor records.
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <unordered_set>
#include <vector>

#include "store/catalog/records.h"
#include "store/chunks/chunk_bytes.h"
#include "store/chunks/codec.h"
#include "store/db/db.h"
#include "store/formats/segment.h"
#include "store/import/chunker.h"

namespace re2po {

struct ChunkWriterStats {
  uint64_t chunks = 0;
  uint64_t new_chunks = 0;
  uint64_t new_raw_bytes = 0;
  uint64_t new_stored_bytes = 0;
  uint64_t delta_chunks = 0;     // new chunks stored against a base (codec 3 or 5)
  uint64_t delta_raw_bytes = 0;  // their uncompressed bytes
  uint64_t derived_chunks = 0;   // of those, predicted by a derivation (codec 5)
  uint64_t derived_raw_bytes = 0;
};

// Reads a stored chunk (the base of a delta) for the writer.
using ChunkReader = std::function<Result<ChunkBytes>(const Digest&)>;

class ChunkWriter {
 public:
  // `space_check` is asked before each write whether that many bytes fit;
  // `read_chunk` fetches the bases of delta chunks; `seal`, when set, names
  // and seals every chunk (a protected import).
  ChunkWriter(Db& db, CodecOptions codec, unsigned threads,
              std::function<Status(uint64_t)> space_check, ChunkReader read_chunk,
              const SealingKey* seal = nullptr);

  // Stores the chunks of `bytes` cut as `chunks`; `bases` is empty or holds
  // for each chunk the one it may be stored against (store/import/delta_bases.h);
  // `on_bytes` is told how many bytes each window covered.
  Result<Recipe> StoreFile(ByteSpan bytes, const std::vector<PlannedChunk>& chunks,
                           std::span<const std::optional<ChunkBase>> bases,
                           const std::function<void(uint64_t)>& on_bytes);
  const ChunkWriterStats& stats() const { return stats_; }

 private:
  struct Work {
    Digest digest;
    bool known = false;
    std::string value;  // the encoded chunk value, when the store lacks it
    size_t payload_size = 0;
    std::optional<Digest> base;      // set when `value` is a delta against it
    std::vector<Digest> more_bases;  // the other pieces of a base in several
    bool derived = false;            // ...and a derived chunk (codec 5)
  };
  void ProcessRange(ByteSpan bytes, std::span<const PlannedChunk> chunks,
                    std::span<const std::optional<ChunkBase>> bases, std::span<Work> work);
  void ProcessWindow(ByteSpan bytes, std::span<const PlannedChunk> window,
                     std::span<const std::optional<ChunkBase>> bases, std::vector<Work>& work,
                     uint64_t window_bytes);
  // The base's bytes: one chunk, or the concatenation of its pieces.
  Result<ChunkBytes> ReadBase(const ChunkBase& base) const;
  // Replaces work.value by a delta against `base` (or a derivation of it)
  // when that is smaller.
  void TryDelta(ByteSpan data, const PlannedChunk& chunk, const ChunkBase& base, Work& work);
  // A sealed chunk is stored against chunks sealed by the same key only,
  // an open one against open ones only: anything else would leak which
  // tensors a protected model shares, or make an open model need a key.
  bool SealedAlike(const Digest& base) const;
  // Replaces work.value by its sealed form (codec 4).
  void Seal(size_t raw_size, Work& work) const;
  // Fills batch_ with the new chunks of a window (on the caller's thread,
  // which owns the dedup set); the previous window's write must be done.
  void BatchWindow(std::span<const PlannedChunk> chunks, std::span<Work> work);

  Db& db_;
  CodecOptions codec_;
  std::function<Status(uint64_t)> space_check_;
  ChunkReader read_chunk_;
  unsigned threads_;
  const SealingKey* seal_;
  std::unordered_set<Digest, DigestHash> written_;  // by this import, maybe not yet flushed
  WriteBatch batch_;                                // reused by every window
  ChunkWriterStats stats_;
};

// The tensors of a file with their digests (over their chunks' digests).
std::vector<TensorRecord> TensorRecords(const std::vector<Segment>& segments,
                                        const std::vector<PlannedChunk>& chunks,
                                        const Recipe& recipe);

}  // namespace re2po
