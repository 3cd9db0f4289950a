// Where a fine-tuned model's tensors came from. For each tensor of a file
// being imported, the pieces of the most recently stored tensor with the
// same name, dtype and shape, found through the catalog's 'n' entries
// (docs/format.md). A fine-tune changes weights in their low mantissa bits,
// so the XOR of a piece with its base compresses to about half of either;
// the chunk writer stores a piece that way (codec 3) when it pays.
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

class DeltaBases {
 public:
  explicit DeltaBases(const Db& db) : db_(db) {}

  // One entry per planned chunk: the chunk to store it against, never a
  // delta chunk itself, or nullopt.
  std::vector<std::optional<Digest>> ForFile(const std::vector<Segment>& segments,
                                             const std::vector<PlannedChunk>& chunks);

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
  // The base pieces for one tensor, aligned with `pieces`, or nothing.
  std::vector<std::optional<Digest>> BasesOf(const Segment& tensor,
                                             std::span<const PlannedChunk> pieces);

  const Db& db_;
  std::map<Digest, std::optional<StoredFile>> files_;  // per import: few distinct files
  std::set<Digest> offered_files_;
};

}  // namespace re2po
