// Chunkers turn one file's bytes into chunk boundaries. The import planner
// (store/import/import_planner.h) hands every chunker the file's normalised
// segments, which cover the file exactly once; a chunker may use them or not.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "store/base/digest.h"
#include "store/base/dtype.h"
#include "store/chunks/derivation.h"
#include "store/formats/segment.h"

namespace re2po {

using ByteSpan = std::span<const uint8_t>;

struct PlannedChunk {
  uint64_t offset = 0;
  uint64_t length = 0;
  DType dtype = DType::kUnknown;
};

// What a planned chunk may be stored against (store/import/delta_bases.h):
// a chunk of the same size (codec 3, XOR), or one `derivation` predicts it
// from (codec 5; parameters that need fitting are fitted by the writer).
struct ChunkBase {
  Digest chunk;
  std::optional<Transform> derivation;
  // For a permutation whose shapes allow several (equal dims): each to try.
  std::vector<std::vector<uint8_t>> axes_to_try;
};

// Content-defined chunking parameters (FastCDC with normalised chunking).
struct CdcParams {
  uint32_t min_size = 16 * 1024;
  uint32_t avg_size = 64 * 1024;  // a power of two
  uint32_t max_size = 256 * 1024;
};

// Tensors are cut into fixed pieces counted from the tensor's first byte, so
// the same tensor yields the same chunks wherever it sits. 1 MiB bounds the
// work of a small random read to one chunk and matches FUSE's largest read.
inline constexpr uint64_t kTensorPieceSize = 1 << 20;

class Chunker {
 public:
  virtual ~Chunker() = default;
  // Boundaries cover [0, bytes.size()) exactly once, in order.
  virtual std::vector<PlannedChunk> Cut(ByteSpan bytes,
                                        std::span<const Segment> segments) const = 0;
};

// Ignores segments: content-defined chunking of the whole file.
std::unique_ptr<Chunker> MakeGenericChunker(CdcParams params = {});
// Cuts at every segment boundary: tensors in fixed pieces, metadata by CDC.
std::unique_ptr<Chunker> MakeTensorAwareChunker(CdcParams params = {});

// Appends content-defined chunks of `bytes`, offsets shifted by `base`.
void CutContentDefined(ByteSpan bytes, uint64_t base, const CdcParams& params,
                       std::vector<PlannedChunk>& out);

}  // namespace re2po
