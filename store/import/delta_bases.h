// Where a fine-tuned or converted model's tensors came from. For each
// tensor of a file being imported, the pieces of a stored tensor of the
// same shape, tried in this order:
// - the same name and dtype, through the catalog's 'n' entries
//   (docs/format.md): a fine-tune changes weights in their low mantissa
//   bits, so the XOR of a piece with its base compresses to about half of
//   either (codec 3);
// - the same name and another dtype it may be a cast or a quantization of:
//   fp32 for an fp16, bf16, int8 or uint8 tensor, fp16 or bf16 for an fp32
//   one (codec 5, store/chunks/derivation.h);
// - the fp32 tensor with its sketch ('k' entries,
//   store/import/tensor_sketch.h), whatever its name: for an fp16 or bf16
//   tensor one it may be a cast of (a renamed copy), for an fp32 one one it
//   may be a per-channel rescaling of (a folded BatchNorm);
// - for an fp32 tensor, the one with its permutation sketch ('p' entries),
//   of which it may be a transpose (a Keras layout).
// The chunk writer stores a piece that way when it pays.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "store/base/digest.h"
#include "store/catalog/records.h"
#include "store/db/db.h"
#include "store/formats/segment.h"
#include "store/import/chunk_writer.h"
#include "store/import/chunker.h"

namespace re2po {

// Pieces smaller than this are stored whole: the saving would not pay for
// the second fetch a read of a delta chunk makes.
inline constexpr uint64_t kMinDeltaPiece = uint64_t{16} << 10;
// A cast saves nearly all of a piece, so smaller ones pay: the batch-norm
// and depthwise tensors of a mobile model are a tenth of its bytes. Tensors
// from twice this size up are indexed, the fp32 bases of such pieces.
inline constexpr uint64_t kMinDerivedPiece = uint64_t{4} << 10;
// The largest tensor stored as a permutation of another: each of its pieces
// is predicted from the whole base, so this bounds what a read of one piece
// needs.
inline constexpr uint64_t kMaxPermutedTensor = uint64_t{64} << 20;

class DeltaBases {
 public:
  // `read_chunk` reads stored pieces when two bases compete.
  DeltaBases(const Db& db, ChunkReader read_chunk) : db_(db), read_chunk_(std::move(read_chunk)) {}

  // One entry per planned chunk: the chunk to store it against, never a
  // delta chunk itself, or nullopt. A tensor with a base is first cut again
  // where its base was cut (at half the offsets for a cast), so that each
  // piece has exactly one base piece: `chunks` may change.
  std::vector<std::optional<ChunkBase>> ForFile(ByteSpan bytes,
                                                const std::vector<Segment>& segments,
                                                std::vector<PlannedChunk>& chunks);

  // The stored files ForFile offered bases from since the last call, for the
  // version's provenance.
  std::set<Digest> TakeOfferedFiles() { return std::exchange(offered_files_, {}); }

  // Points the 'n' and 'k' entries of a newly stored file's tensors at it.
  static void IndexTensors(ByteSpan bytes, const std::vector<TensorRecord>& tensors,
                           const Digest& file, WriteBatch& batch);

 private:
  struct StoredFile {
    FileInfo info;
    Recipe recipe;
  };
  const StoredFile* Load(const Digest& file);
  std::optional<Digest> NonDelta(const Digest& chunk);
  // The tensor's pieces cut as the stored tensor was (its bytes scaled by
  // the derivation's element sizes), and the base of each.
  struct Match {
    std::vector<PlannedChunk> pieces;
    std::vector<std::optional<ChunkBase>> bases;
    Digest file;  // the stored file the bases are pieces of
  };
  std::optional<Match> FindBase(ByteSpan bytes, const Segment& tensor);
  // A base of another dtype found by the tensor's name.
  std::optional<Match> ByNameInAnotherDtype(const Segment& tensor);
  // The share of the bytes of the match's first piece with a base that
  // the prediction gets wrong: the lower, the better the base.
  double WrongShare(ByteSpan bytes, const Match& match);
  std::optional<Match> ByName(const Segment& tensor, DType base_dtype,
                              std::optional<Transform> transform);
  // The fp32 tensor with the sketch of `tensor`, predicted by `transform`.
  std::optional<Match> BySketch(ByteSpan bytes, const Segment& tensor, Transform transform);
  std::optional<Match> ByPermutation(ByteSpan bytes, const Segment& tensor);
  // The chunks of `old` in order (a delta's base for a delta), when its
  // extents cover it exactly.
  std::optional<std::vector<Digest>> WholeTensorChunks(const StoredFile& stored,
                                                       const TensorRecord& old);
  // The tensor `name` of `base_dtype` and the tensor's shape in `file`.
  std::optional<Match> MatchInFile(const Segment& tensor, const Digest& file, std::string_view name,
                                   DType base_dtype, const std::optional<Transform>& transform);
  std::optional<Match> MatchPieces(const Segment& tensor, const TensorRecord& old,
                                   const Recipe& recipe, const std::optional<Transform>& transform);

  const Db& db_;
  ChunkReader read_chunk_;
  std::map<Digest, std::optional<StoredFile>> files_;  // per import: few distinct files
  std::set<Digest> offered_files_;
};

}  // namespace re2po
