#include "store/import/tensor_sketch.h"

#include <endian.h>

#include <algorithm>
#include <cstring>

namespace re2po {
namespace {

constexpr int64_t kChannels = 64;
constexpr int64_t kPerChannel = 8;
// Fewer signs than this, of either kind, do not identify a tensor.
constexpr int kMinEachSign = 8;

enum Symbol : char { kSame = '+', kFlipped = '-' };

}  // namespace

std::optional<std::string> TensorSketchOf(DType dtype, const std::vector<int64_t>& shape,
                                          std::span<const uint8_t> tensor) {
  // Casts keep signs and, but for underflows, zeros: an fp16 or bf16 copy
  // has the sketch of its fp32 tensor.
  const uint64_t width = dtype == DType::kF32                              ? 4
                         : (dtype == DType::kF16 || dtype == DType::kBF16) ? 2
                                                                           : 0;
  if (width == 0 || shape.size() < 2 || tensor.size() / width * 4 < kMinSketchedTensor) {
    return std::nullopt;
  }
  uint64_t elements = 1;
  for (int64_t dim : shape) elements *= static_cast<uint64_t>(std::max<int64_t>(dim, 0));
  const int64_t channels = shape[0];
  if (channels < 2 || elements != tensor.size() / width || tensor.size() % width != 0) {
    return std::nullopt;
  }
  const uint64_t per_channel = elements / static_cast<uint64_t>(channels);
  std::string sketch;
  int same = 0;
  int flipped = 0;
  for (int64_t channel = 0; channel < std::min(channels, kChannels); ++channel) {
    bool reference = false;  // the sign of the channel's first element
    for (uint64_t i = 0; i < std::min<uint64_t>(per_channel, kPerChannel); ++i) {
      const uint8_t* at = tensor.data() + width * (channel * per_channel + i);
      // The sign bit alone: a cast keeps it even where a value underflows
      // to zero, and a factor flips all of a channel's or none.
      const bool negative = (at[width - 1] & 0x80) != 0;  // little-endian: the top byte last
      if (i == 0) reference = negative;
      const bool is_same = negative == reference;
      sketch.push_back(is_same ? kSame : kFlipped);
      (is_same ? same : flipped) += 1;
    }
  }
  // The first element of each channel is "same" by definition; count the rest.
  same -= static_cast<int>(std::min(channels, kChannels));
  if (same < kMinEachSign || flipped < kMinEachSign) return std::nullopt;
  return sketch;
}

std::optional<std::string> PermutationSketchOf(DType dtype, const std::vector<int64_t>& shape,
                                               std::span<const uint8_t> tensor,
                                               uint64_t most_bytes) {
  if (dtype != DType::kF32 || shape.size() < 2 || tensor.size() < kMinSketchedTensor ||
      tensor.size() > most_bytes || tensor.size() % 4 != 0) {
    return std::nullopt;
  }
  std::vector<int64_t> dims = shape;
  std::sort(dims.begin(), dims.end());
  std::string sketch;
  for (int64_t dim : dims) sketch += std::to_string(dim) + ",";
  // A sum is the same in any order; the multiply-xorshift spreads each
  // element's bits so that different multisets rarely sum alike.
  uint64_t sum = 0;
  for (size_t i = 0; i < tensor.size(); i += 4) {
    uint32_t word;
    std::memcpy(&word, tensor.data() + i, 4);
    uint64_t mixed = (uint64_t{le32toh(word)} + 1) * 0x9E3779B97F4A7C15ull;
    sum += mixed ^ (mixed >> 31);
  }
  sketch += std::to_string(sum);
  return sketch;
}

}  // namespace re2po
