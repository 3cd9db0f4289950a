#include "store/import/chunker.h"

#include <algorithm>
#include <array>
#include <bit>

namespace re2po {
namespace {

// The gear table is part of the chunk-boundary contract: changing it changes
// where chunks fall (not correctness, but dedup against older imports).
std::array<uint64_t, 256> MakeGearTable() {
  std::array<uint64_t, 256> table{};
  uint64_t state = 0x9e3779b97f4a7c15ULL;
  for (auto& entry : table) {  // splitmix64
    state += 0x9e3779b97f4a7c15ULL;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    entry = z ^ (z >> 31);
  }
  return table;
}

const std::array<uint64_t, 256>& Gear() {
  static const std::array<uint64_t, 256> table = MakeGearTable();
  return table;
}

uint64_t HighBitsMask(int bits) { return bits <= 0 ? 0 : ~0ULL << (64 - bits); }

// FastCDC: a stricter mask before the average size and a looser one after
// it pulls chunk sizes towards the average.
size_t NextCutPoint(const uint8_t* data, size_t size, const CdcParams& params) {
  if (size <= params.min_size) return size;
  const size_t limit = std::min<size_t>(size, params.max_size);
  const size_t normal = std::min<size_t>(params.avg_size, limit);
  const int bits = std::bit_width(params.avg_size) - 1;
  const uint64_t strict = HighBitsMask(bits + 2);
  const uint64_t loose = HighBitsMask(bits - 2);
  const auto& gear = Gear();
  uint64_t hash = 0;
  size_t i = params.min_size;
  for (; i < normal; ++i) {
    hash = (hash << 1) + gear[data[i]];
    if ((hash & strict) == 0) return i + 1;
  }
  for (; i < limit; ++i) {
    hash = (hash << 1) + gear[data[i]];
    if ((hash & loose) == 0) return i + 1;
  }
  return limit;
}

class GenericChunker final : public Chunker {
 public:
  explicit GenericChunker(CdcParams params) : params_(params) {}
  std::vector<PlannedChunk> Cut(ByteSpan bytes, std::span<const Segment>) const override {
    std::vector<PlannedChunk> chunks;
    CutContentDefined(bytes, 0, params_, chunks);
    return chunks;
  }

 private:
  CdcParams params_;
};

class TensorAwareChunker final : public Chunker {
 public:
  explicit TensorAwareChunker(CdcParams params) : params_(params) {}
  std::vector<PlannedChunk> Cut(ByteSpan bytes, std::span<const Segment> segments) const override {
    std::vector<PlannedChunk> chunks;
    for (const Segment& segment : segments) {
      if (segment.kind == SegmentKind::kTensor) {
        CutTensor(segment, chunks);
      } else {
        CutContentDefined(bytes.subspan(segment.offset, segment.length), segment.offset, params_,
                          chunks);
      }
    }
    return chunks;
  }

 private:
  static void CutTensor(const Segment& segment, std::vector<PlannedChunk>& chunks) {
    for (uint64_t done = 0; done < segment.length; done += kTensorPieceSize) {
      uint64_t length = std::min(kTensorPieceSize, segment.length - done);
      chunks.push_back({segment.offset + done, length, segment.dtype});
    }
  }

  CdcParams params_;
};

}  // namespace

void CutContentDefined(ByteSpan bytes, uint64_t base, const CdcParams& params,
                       std::vector<PlannedChunk>& out) {
  size_t done = 0;
  while (done < bytes.size()) {
    size_t length = NextCutPoint(bytes.data() + done, bytes.size() - done, params);
    out.push_back({base + done, length, DType::kUnknown});
    done += length;
  }
}

std::unique_ptr<Chunker> MakeGenericChunker(CdcParams params) {
  return std::make_unique<GenericChunker>(params);
}

std::unique_ptr<Chunker> MakeTensorAwareChunker(CdcParams params) {
  return std::make_unique<TensorAwareChunker>(params);
}

}  // namespace re2po
