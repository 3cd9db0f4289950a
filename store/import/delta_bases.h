// Where a fine-tuned or converted model's tensors came from. For each
// tensor of a file being imported, the pieces of the most recently stored
// tensor with the same name and shape, found through the catalog's 'n'
// entries (docs/format.md): of the same dtype (a fine-tune changes weights in
// their low mantissa bits, so the XOR of a piece with its base compresses to
// about half of either: codec 3), or else an fp32 tensor this fp16 or bf16
// tensor may be a cast of (the XOR with the cast of the base is mostly
// zeros: codec 5, store/chunks/derivation.h). The chunk writer stores a
// piece that way when it pays.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "store/base/digest.h"
#include "store/catalog/records.h"
#include "store/db/db.h"
#include "store/formats/segment.h"
#include "store/import/chunker.h"

namespace re2po {

// Pieces smaller than this are stored whole: the saving would not pay for
// the second fetch a read of a delta chunk makes.
inline constexpr uint64_t kMinDeltaPiece = uint64_t{16} << 10;
// A cast saves nearly all of a piece, so smaller ones pay: the batch-norm
// and depthwise tensors of a mobile model are a tenth of its bytes. Tensors
// from twice this size up are indexed, the fp32 bases of such pieces.
inline constexpr uint64_t kMinDerivedPiece = uint64_t{4} << 10;

class DeltaBases {
 public:
  explicit DeltaBases(const Db& db) : db_(db) {}

  // One entry per planned chunk: the chunk to store it against, never a
  // delta chunk itself, or nullopt. A tensor with a base is first cut again
  // where its base was cut (at half the offsets for a cast), so that each
  // piece has exactly one base piece: `chunks` may change.
  std::vector<std::optional<ChunkBase>> ForFile(const std::vector<Segment>& segments,
                                                std::vector<PlannedChunk>& chunks);

  // The stored files ForFile offered bases from since the last call, for the
  // version's provenance.
  std::set<Digest> TakeOfferedFiles() { return std::exchange(offered_files_, {}); }

  // Points the 'n' entries of a newly stored file's tensors at it.
  static void IndexTensors(const std::vector<TensorRecord>& tensors, const Digest& file,
                           WriteBatch& batch);

 private:
  struct StoredFile {
    FileInfo info;
    Recipe recipe;
  };
  const StoredFile* Load(const Digest& file);
  std::optional<Digest> NonDelta(const Digest& chunk);
  // The tensor's pieces cut as the stored tensor `name` of `base_dtype` was
  // (its bytes divided by `base_bytes_per_byte`), and the base of each, or
  // nothing when no such tensor is stored or its pieces cannot be matched.
  struct Match {
    std::vector<PlannedChunk> pieces;
    std::vector<std::optional<ChunkBase>> bases;
  };
  std::optional<Match> MatchStored(const Segment& tensor, DType base_dtype,
                                   std::optional<Derivation> derivation);
  std::optional<Match> MatchPieces(const Segment& tensor, const TensorRecord& old,
                                   const Recipe& recipe, std::optional<Derivation> derivation);

  const Db& db_;
  std::map<Digest, std::optional<StoredFile>> files_;  // per import: few distinct files
  std::set<Digest> offered_files_;
};

}  // namespace re2po
