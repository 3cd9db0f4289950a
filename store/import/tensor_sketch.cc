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

enum Symbol : char { kZero = '0', kSame = '+', kFlipped = '-' };

}  // namespace

std::optional<std::string> TensorSketchOf(DType dtype, const std::vector<int64_t>& shape,
                                          std::span<const uint8_t> tensor) {
  if (dtype != DType::kF32 || shape.size() < 2 || tensor.size() < kMinSketchedTensor) {
    return std::nullopt;
  }
  uint64_t elements = 1;
  for (int64_t dim : shape) elements *= static_cast<uint64_t>(std::max<int64_t>(dim, 0));
  const int64_t channels = shape[0];
  if (channels < 2 || elements != tensor.size() / 4 || tensor.size() % 4 != 0) return std::nullopt;
  const uint64_t per_channel = elements / static_cast<uint64_t>(channels);
  std::string sketch;
  int same = 0;
  int flipped = 0;
  for (int64_t channel = 0; channel < std::min(channels, kChannels); ++channel) {
    uint32_t reference = 0;  // sign bit of the channel's first non-zero element
    bool seen = false;
    for (uint64_t i = 0; i < std::min<uint64_t>(per_channel, kPerChannel); ++i) {
      uint32_t word;
      std::memcpy(&word, tensor.data() + 4 * (channel * per_channel + i), 4);
      word = le32toh(word);
      if ((word & 0x7FFFFFFF) == 0) {
        sketch.push_back(kZero);
        continue;
      }
      if (!seen) {
        reference = word >> 31;
        seen = true;
      }
      const bool is_same = (word >> 31) == reference;
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
