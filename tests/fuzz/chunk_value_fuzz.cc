// libFuzzer target for the chunk decoder (store/chunks/chunk_decoder.h):
// a stored value is untrusted (a damaged disk, a crafted store). The first
// byte picks the mode:
//  - even: the rest is a chunk value, decoded against a base of a size that
//    fits a delta (odd second byte) or a cast (even); it may fail, never
//    crash, and what it accepts must match its checksum;
//  - odd: the rest is cut into an fp32 base and the tensor derived from it;
//    stored as a derived chunk (codec 5) and decoded, it must come back
//    byte for byte.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "store/chunks/chunk_decoder.h"
#include "store/chunks/codec.h"

namespace {

using re2po::ChunkBytes;
using re2po::Digest;

ChunkBytes Pattern(size_t size, uint8_t seed) {
  auto bytes = std::make_shared<std::vector<uint8_t>>(size);
  for (size_t i = 0; i < size; ++i) (*bytes)[i] = static_cast<uint8_t>(seed + i * 131);
  return bytes;
}

void DecodeUntrusted(std::string_view value, uint8_t shape) {
  re2po::Result<re2po::ChunkValue> parsed = re2po::ParseChunkValue(value);
  if (!parsed.ok() || parsed->raw_size > (4u << 20)) return;
  const size_t base_size = (shape & 1) ? parsed->raw_size : 2 * parsed->raw_size;
  const Digest name = re2po::Sha256Of(std::string_view("fuzz"));
  auto base = [&](const Digest&) -> re2po::Result<ChunkBytes> { return Pattern(base_size, shape); };
  re2po::Result<ChunkBytes> decoded = re2po::DecodeChunkValue(
      name, value, re2po::ChunkCheck::kFast, /*base_of_delta=*/false, base, nullptr);
  if (decoded.ok() && parsed->checksum &&
      re2po::ChunkChecksum(name, **decoded) != *parsed->checksum) {
    std::abort();
  }
}

// A transform of any derivation with parameters taken from `input`.
re2po::Transform TransformOf(std::span<const uint8_t>& input) {
  constexpr int kDerivations = static_cast<int>(re2po::kLastDerivation);
  re2po::Transform transform(static_cast<re2po::Derivation>(1 + input[0] % kDerivations));
  switch (transform.kind) {
    case re2po::Derivation::kScalePerChannel:
    case re2po::Derivation::kQuantizePerChannelF32ToI8:
    case re2po::Derivation::kQuantizePerChannelF32ToU8:
      transform.channel_elements = 1 + input[1] % 16;
      transform.phase = input[2] % transform.channel_elements;
      break;
    case re2po::Derivation::kQuantizeF32ToI8:
    case re2po::Derivation::kQuantizeF32ToU8:
      transform.scale = 1.0f / float(1 + input[1]);
      transform.zero_point = input[2] % 9;
      break;
    default:
      break;
  }
  input = input.subspan(3);
  return transform;
}

void RoundTripDerived(std::span<const uint8_t> input) {
  if (input.size() < 5) return;
  const bool byte_planes = (input[0] & 0x80) != 0;
  re2po::Transform transform = TransformOf(input);
  // The base first, then the derived bytes (XORed with the base's
  // prediction, so that some inputs are exact).
  const re2po::ElementSizes sizes = re2po::ElementSizesOf(transform.kind);
  const size_t elements = input.size() / (sizes.base + sizes.derived);
  std::vector<uint8_t> base(input.begin(), input.begin() + sizes.base * elements);
  std::vector<uint8_t> raw(sizes.derived * elements);
  if (re2po::IsPermutation(transform.kind)) {
    if (elements == 0) return;
    const uint64_t rows = elements % 2 == 0 ? 2 : 1;  // a transpose of rows x columns
    transform.base_dims = {rows, elements / rows};
    transform.axes = {1, 0};
  }
  if (transform.channel_elements != 0) {
    const uint64_t per = transform.channel_elements;
    const size_t channels = (transform.phase + elements + per - 1) / per;
    for (size_t i = 0; i < channels; ++i) {
      transform.scales.push_back(0.5f + float(i));
      transform.zero_points.push_back(static_cast<int32_t>(i % 5) - 2);
    }
  }
  if (!re2po::Predict(transform, base, raw).ok()) std::abort();
  for (size_t i = 0; i < raw.size(); ++i) raw[i] ^= input[sizes.base * elements + i];
  const Digest name = re2po::Sha256Of(std::span<const uint8_t>(raw));
  // A permutation of pieces reads its base as two: the first half (named
  // where every base is) and the rest (in its parameters).
  const size_t split = transform.kind == re2po::Derivation::kPermute32Pieces ? base.size() / 2 : 0;
  const std::vector<uint8_t> first(base.begin(), base.end() - split);
  const std::vector<uint8_t> rest(base.end() - split, base.end());
  const Digest base_name = re2po::Sha256Of(std::span<const uint8_t>(first));
  const Digest rest_name = re2po::Sha256Of(std::span<const uint8_t>(rest));
  if (split != 0) transform.more_bases = {rest_name};
  std::vector<uint8_t> prediction(raw.size());
  if (!re2po::Predict(transform, base, prediction).ok()) std::abort();
  re2po::CodecOptions options;
  options.byte_planes = byte_planes;
  size_t payload_size = 0;
  const std::string value = re2po::EncodeDerivedChunkValue(
      name, raw, base_name, transform, prediction, re2po::DType::kF16, options, payload_size);
  auto base_chunk = [&](const Digest& wanted) -> re2po::Result<ChunkBytes> {
    if (wanted == base_name) return ChunkBytes(std::make_shared<std::vector<uint8_t>>(first));
    if (split == 0 || wanted != rest_name) std::abort();
    return ChunkBytes(std::make_shared<std::vector<uint8_t>>(rest));
  };
  re2po::Result<ChunkBytes> decoded = re2po::DecodeChunkValue(
      name, value, re2po::ChunkCheck::kFull, /*base_of_delta=*/false, base_chunk, nullptr);
  if (!decoded.ok() || **decoded != raw) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  if (data[0] % 2 == 0) {
    DecodeUntrusted(std::string_view(reinterpret_cast<const char*>(data) + 2, size - 2), data[1]);
  } else {
    RoundTripDerived(std::span<const uint8_t>(data + 1, size - 1));
  }
  return 0;
}
