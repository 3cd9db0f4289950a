#include "store/chunks/derivation.h"

#include <endian.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>

#include "store/base/coding.h"

namespace re2po {

uint16_t CastF32ToF16(uint32_t bits) {
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  const uint32_t magnitude = bits & 0x7FFFFFFF;
  if (magnitude > 0x7F800000) return sign | 0x7E00;   // NaN
  if (magnitude >= 0x477FF000) return sign | 0x7C00;  // >= 65520 (and inf): infinity
  if (magnitude >= 0x38800000) {                      // a normal half
    uint32_t rebased = magnitude - 0x38000000;        // exponent bias 127 -> 15
    rebased += 0xFFF + ((rebased >> 13) & 1);         // round to nearest even
    return sign | static_cast<uint16_t>(rebased >> 13);
  }
  if (magnitude <= 0x33000000) return sign;  // <= 2^-25: rounds to zero (a tie goes to even)
  // A subnormal half: round(value / 2^-24) of the 24-bit significand.
  const uint32_t exponent = magnitude >> 23;
  const uint32_t significand = (magnitude & 0x7FFFFF) | 0x800000;
  const uint32_t shift = 126 - exponent;  // 14..24
  uint32_t quotient = significand >> shift;
  const uint32_t remainder = significand & ((1u << shift) - 1);
  const uint32_t half = 1u << (shift - 1);
  if (remainder > half || (remainder == half && (quotient & 1) != 0)) ++quotient;
  return sign | static_cast<uint16_t>(quotient);
}

uint16_t CastF32ToBF16(uint32_t bits) {
  if ((bits & 0x7FFFFFFF) > 0x7F800000) return 0x7FC0;
  return static_cast<uint16_t>((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
}

uint32_t CastF16ToF32(uint16_t bits) {
  const uint32_t sign = uint32_t{bits & 0x8000u} << 16;
  const uint32_t exponent = (bits >> 10) & 0x1F;
  uint32_t significand = bits & 0x3FF;
  if (exponent == 0x1F) return sign | 0x7F800000 | (significand << 13);  // inf, NaN (payload kept)
  if (exponent != 0) return sign | ((exponent + 112) << 23) | (significand << 13);
  if (significand == 0) return sign;
  // A subnormal half is a normal float: shift the leading one into place.
  uint32_t rebased = 113;
  while ((significand & 0x400) == 0) {
    significand <<= 1;
    --rebased;
  }
  return sign | (rebased << 23) | ((significand & 0x3FF) << 13);
}

int32_t QuantizeF32(float value, float scale, int32_t zero_point, int32_t low, int32_t high) {
  const float quotient = value / scale;
  if (std::isnan(quotient)) return std::clamp(zero_point, low, high);
  // nearbyint rounds half to even in the default rounding mode, as torch.round does.
  const double rounded = static_cast<double>(std::nearbyint(quotient)) + zero_point;
  return static_cast<int32_t>(
      std::clamp(rounded, static_cast<double>(low), static_cast<double>(high)));
}

std::string_view DerivationName(Derivation derivation) {
  switch (derivation) {
    case Derivation::kCastF32ToF16:
      return "cast f16";
    case Derivation::kCastF32ToBF16:
      return "cast bf16";
    case Derivation::kScalePerChannel:
      return "scaled per channel";
    case Derivation::kQuantizeF32ToI8:
      return "quantized i8";
    case Derivation::kQuantizeF32ToU8:
      return "quantized u8";
    case Derivation::kCastF16ToF32:
    case Derivation::kCastBF16ToF32:
      return "cast f32";
    case Derivation::kPermute32:
    case Derivation::kPermute32Pieces:
      return "permuted";
    case Derivation::kQuantizePerChannelF32ToI8:
      return "quantized i8 per channel";
    case Derivation::kQuantizePerChannelF32ToU8:
      return "quantized u8 per channel";
  }
  return "unknown derivation";
}

bool HasParams(Derivation derivation) { return static_cast<uint8_t>(derivation) >= 3; }

std::optional<Derivation> CastBetween(DType from, DType to) {
  if (from == DType::kF32 && to == DType::kF16) return Derivation::kCastF32ToF16;
  if (from == DType::kF32 && to == DType::kBF16) return Derivation::kCastF32ToBF16;
  if (from == DType::kF16 && to == DType::kF32) return Derivation::kCastF16ToF32;
  if (from == DType::kBF16 && to == DType::kF32) return Derivation::kCastBF16ToF32;
  return std::nullopt;
}

ElementSizes ElementSizesOf(Derivation derivation) {
  switch (derivation) {
    case Derivation::kScalePerChannel:
    case Derivation::kPermute32:
    case Derivation::kPermute32Pieces:
      return {4, 4};
    case Derivation::kQuantizeF32ToI8:
    case Derivation::kQuantizeF32ToU8:
    case Derivation::kQuantizePerChannelF32ToI8:
    case Derivation::kQuantizePerChannelF32ToU8:
      return {4, 1};
    case Derivation::kCastF16ToF32:
    case Derivation::kCastBF16ToF32:
      return {2, 4};
    default:
      return {4, 2};
  }
}

bool Transform::NeedsFit() const {
  return kind == Derivation::kScalePerChannel || kind == Derivation::kQuantizeF32ToI8 ||
         kind == Derivation::kQuantizeF32ToU8 || kind == Derivation::kQuantizePerChannelF32ToI8 ||
         kind == Derivation::kQuantizePerChannelF32ToU8;
}

bool IsPermutation(Derivation derivation) {
  return derivation == Derivation::kPermute32 || derivation == Derivation::kPermute32Pieces;
}

std::optional<Derivation> PerChannel(Derivation quantization) {
  if (quantization == Derivation::kQuantizeF32ToI8) return Derivation::kQuantizePerChannelF32ToI8;
  if (quantization == Derivation::kQuantizeF32ToU8) return Derivation::kQuantizePerChannelF32ToU8;
  return std::nullopt;
}

std::string Transform::EncodeParams() const {
  std::string out;
  switch (kind) {
    case Derivation::kScalePerChannel:
      PutVarint(out, channel_elements);
      PutVarint(out, phase);
      PutVarint(out, scales.size());
      for (float factor : scales) PutFixed32(out, std::bit_cast<uint32_t>(factor));
      break;
    case Derivation::kQuantizeF32ToI8:
    case Derivation::kQuantizeF32ToU8:
      PutFixed32(out, std::bit_cast<uint32_t>(scale));
      PutVarint(out, ZigZag(zero_point));
      break;
    case Derivation::kCastF16ToF32:
    case Derivation::kCastBF16ToF32:
      PutVarint(out, base_element);
      break;
    case Derivation::kPermute32:
    case Derivation::kPermute32Pieces:
      PutVarint(out, base_dims.size());
      for (uint64_t dim : base_dims) PutVarint(out, dim);
      for (uint8_t axis : axes) out.push_back(static_cast<char>(axis));
      PutVarint(out, base_element);
      if (kind == Derivation::kPermute32Pieces) {
        PutVarint(out, more_bases.size());
        for (const Digest& base : more_bases) out.append(base.view());
      }
      break;
    case Derivation::kQuantizePerChannelF32ToI8:
    case Derivation::kQuantizePerChannelF32ToU8:
      PutVarint(out, channel_elements);
      PutVarint(out, phase);
      PutVarint(out, scales.size());
      for (size_t i = 0; i < scales.size(); ++i) {
        PutFixed32(out, std::bit_cast<uint32_t>(scales[i]));
        PutVarint(out, ZigZag(i < zero_points.size() ? zero_points[i] : 0));
      }
      break;
    default:
      break;
  }
  return out;
}

namespace {

constexpr uint64_t kMaxPermutedRank = 8;
constexpr int64_t kMaxZeroPoint = 256;

Status DecodeZeroPoint(Decoder& decoder, int32_t& zero_point) {
  uint64_t zigzag = 0;
  RETURN_IF_ERROR(decoder.GetVarint(zigzag));
  const int64_t value = UnZigZag(zigzag);
  if (value < -kMaxZeroPoint || value > kMaxZeroPoint) {
    return Status::Corruption("a quantization with zero point " + std::to_string(value));
  }
  zero_point = static_cast<int32_t>(value);
  return Status::Ok();
}

// Channel size, phase, and per channel a scale and a zero point.
Status DecodePerChannelQuantization(Decoder& decoder, Transform& transform) {
  uint64_t count = 0;
  uint32_t bits = 0;
  RETURN_IF_ERROR(decoder.GetVarint(transform.channel_elements));
  RETURN_IF_ERROR(decoder.GetVarint(transform.phase));
  RETURN_IF_ERROR(decoder.GetCount(5, count));
  transform.scales.reserve(count);
  transform.zero_points.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    RETURN_IF_ERROR(decoder.GetFixed32(bits));
    transform.scales.push_back(std::bit_cast<float>(bits));
    RETURN_IF_ERROR(DecodeZeroPoint(decoder, transform.zero_points.emplace_back()));
  }
  return Status::Ok();
}

// Dims, axes (a permutation) and the first element of a kPermute32.
Status DecodePermutation(Decoder& decoder, Transform& transform) {
  uint64_t rank = 0;
  RETURN_IF_ERROR(decoder.GetVarint(rank));
  if (rank == 0 || rank > kMaxPermutedRank) {
    return Status::Corruption("a permutation of " + std::to_string(rank) + " axes");
  }
  for (uint64_t i = 0; i < rank; ++i) {
    uint64_t dim = 0;
    RETURN_IF_ERROR(decoder.GetVarint(dim));
    if (dim == 0 || dim > (uint64_t{1} << 40)) return Status::Corruption("a permuted dim of 0");
    transform.base_dims.push_back(dim);
  }
  std::vector<bool> seen(rank);
  for (uint64_t i = 0; i < rank; ++i) {
    uint8_t axis = 0;
    RETURN_IF_ERROR(decoder.GetByte(axis));
    if (axis >= rank || seen[axis]) return Status::Corruption("axes that are no permutation");
    seen[axis] = true;
    transform.axes.push_back(axis);
  }
  return decoder.GetVarint(transform.base_element);
}

// The digests of a kPermute32Pieces base's pieces after the first.
Status DecodeMoreBases(Decoder& decoder, Transform& transform) {
  uint64_t count = 0;
  RETURN_IF_ERROR(decoder.GetCount(32, count));
  if (count == 0) return Status::Corruption("a permutation of pieces with only one piece");
  for (uint64_t i = 0; i < count; ++i) {
    RETURN_IF_ERROR(decoder.GetDigest(transform.more_bases.emplace_back()));
  }
  return Status::Ok();
}

}  // namespace

Result<Transform> Transform::Decode(Derivation kind, std::string_view params) {
  Transform transform(kind);
  Decoder decoder(params, "derivation parameters");
  uint64_t count = 0;
  uint32_t bits = 0;
  switch (kind) {
    case Derivation::kCastF32ToF16:
    case Derivation::kCastF32ToBF16:
      break;
    case Derivation::kScalePerChannel:
      RETURN_IF_ERROR(decoder.GetVarint(transform.channel_elements));
      RETURN_IF_ERROR(decoder.GetVarint(transform.phase));
      RETURN_IF_ERROR(decoder.GetCount(4, count));
      transform.scales.reserve(count);
      for (uint64_t i = 0; i < count; ++i) {
        RETURN_IF_ERROR(decoder.GetFixed32(bits));
        transform.scales.push_back(std::bit_cast<float>(bits));
      }
      break;
    case Derivation::kQuantizeF32ToI8:
    case Derivation::kQuantizeF32ToU8:
      RETURN_IF_ERROR(decoder.GetFixed32(bits));
      transform.scale = std::bit_cast<float>(bits);
      RETURN_IF_ERROR(DecodeZeroPoint(decoder, transform.zero_point));
      break;
    case Derivation::kQuantizePerChannelF32ToI8:
    case Derivation::kQuantizePerChannelF32ToU8:
      RETURN_IF_ERROR(DecodePerChannelQuantization(decoder, transform));
      break;
    case Derivation::kCastF16ToF32:
    case Derivation::kCastBF16ToF32:
      RETURN_IF_ERROR(decoder.GetVarint(transform.base_element));
      break;
    case Derivation::kPermute32:
      RETURN_IF_ERROR(DecodePermutation(decoder, transform));
      break;
    case Derivation::kPermute32Pieces:
      RETURN_IF_ERROR(DecodePermutation(decoder, transform));
      RETURN_IF_ERROR(DecodeMoreBases(decoder, transform));
      break;
    default:
      return Status::Corruption("unknown derivation " + std::to_string(static_cast<int>(kind)));
  }
  if (!decoder.done()) return Status::Corruption("derivation parameters have trailing bytes");
  return transform;
}

namespace {

float LoadF32(const uint8_t* at) {
  uint32_t word;
  std::memcpy(&word, at, 4);
  return std::bit_cast<float>(le32toh(word));
}

void StoreF32(uint8_t* at, float value) {
  const uint32_t word = htole32(std::bit_cast<uint32_t>(value));
  std::memcpy(at, &word, 4);
}

template <uint16_t (*Cast)(uint32_t)>
void CastDown(std::span<const uint8_t> base, std::span<uint8_t> out) {
  for (size_t i = 0, elements = out.size() / 2; i < elements; ++i) {
    uint32_t word;
    std::memcpy(&word, base.data() + 4 * i, 4);
    const uint16_t half = htole16(Cast(le32toh(word)));
    std::memcpy(out.data() + 2 * i, &half, 2);
  }
}

uint32_t CastBF16ToF32(uint16_t bits) { return uint32_t{bits} << 16; }

template <uint32_t (*Cast)(uint16_t)>
void CastUp(std::span<const uint8_t> base, std::span<uint8_t> out) {
  for (size_t i = 0, elements = out.size() / 4; i < elements; ++i) {
    uint16_t half;
    std::memcpy(&half, base.data() + 2 * i, 2);
    const uint32_t word = htole32(Cast(le16toh(half)));
    std::memcpy(out.data() + 4 * i, &word, 4);
  }
}

// Whether the transform has one parameter per channel the chunk's
// `elements` touch.
bool ChannelsCover(const Transform& transform, uint64_t elements) {
  const uint64_t per_channel = transform.channel_elements;
  return per_channel != 0 && transform.phase < per_channel &&
         transform.scales.size() == (transform.phase + elements + per_channel - 1) / per_channel;
}

// Calls apply(i, channel) for each element of the chunk and the index of
// its channel among those the chunk touches.
template <typename Apply>
void ForEachElementChannel(const Transform& transform, uint64_t elements, const Apply& apply) {
  uint64_t channel = 0;
  uint64_t left = transform.channel_elements - transform.phase;  // left in this channel
  for (uint64_t i = 0; i < elements; ++i) {
    if (left == 0) {
      ++channel;
      left = transform.channel_elements;
    }
    --left;
    apply(i, channel);
  }
}

Status ScalePerChannel(const Transform& transform, std::span<const uint8_t> base,
                       std::span<uint8_t> out) {
  const uint64_t elements = out.size() / 4;
  if (!ChannelsCover(transform, elements)) {
    return Status::Corruption("per-channel factors that do not cover the chunk");
  }
  ForEachElementChannel(transform, elements, [&](uint64_t i, uint64_t channel) {
    StoreF32(out.data() + 4 * i, LoadF32(base.data() + 4 * i) * transform.scales[channel]);
  });
  return Status::Ok();
}

bool ValidScale(float scale) { return std::isfinite(scale) && scale > 0; }

Status QuantizePerChannel(const Transform& transform, std::span<const uint8_t> base,
                          std::span<uint8_t> out) {
  const bool is_signed = transform.kind == Derivation::kQuantizePerChannelF32ToI8;
  const int32_t low = is_signed ? -128 : 0;
  const int32_t high = is_signed ? 127 : 255;
  if (!ChannelsCover(transform, out.size()) ||
      transform.zero_points.size() != transform.scales.size()) {
    return Status::Corruption("per-channel quantization parameters that do not cover the chunk");
  }
  if (!std::all_of(transform.scales.begin(), transform.scales.end(), ValidScale)) {
    return Status::Corruption("a per-channel quantization with a scale that is no positive number");
  }
  ForEachElementChannel(transform, out.size(), [&](uint64_t i, uint64_t channel) {
    out[i] =
        static_cast<uint8_t>(QuantizeF32(LoadF32(base.data() + 4 * i), transform.scales[channel],
                                         transform.zero_points[channel], low, high));
  });
  return Status::Ok();
}

Status Quantize(const Transform& transform, std::span<const uint8_t> base, std::span<uint8_t> out) {
  const bool is_signed = transform.kind == Derivation::kQuantizeF32ToI8;
  const int32_t low = is_signed ? -128 : 0;
  const int32_t high = is_signed ? 127 : 255;
  if (!ValidScale(transform.scale)) {
    return Status::Corruption("a quantization with scale " + std::to_string(transform.scale));
  }
  for (size_t i = 0; i < out.size(); ++i) {
    const int32_t q =
        QuantizeF32(LoadF32(base.data() + 4 * i), transform.scale, transform.zero_point, low, high);
    out[i] = static_cast<uint8_t>(q);
  }
  return Status::Ok();
}

// Walks the derived tensor's elements in order with an odometer over its
// axes, keeping the base offset in step, so no element costs a division.
// `element(at)` is where base element `at` is; the base holds `base_bytes`.
template <typename ElementAt>
Status PermuteWith(const Transform& transform, uint64_t base_bytes, const ElementAt& element,
                   std::span<uint8_t> out) {
  const size_t rank = transform.base_dims.size();
  if (rank == 0 || transform.axes.size() != rank) return Status::Corruption("a bad permutation");
  std::vector<uint64_t> base_stride(rank, 1);
  for (size_t i = rank - 1; i > 0; --i) {
    base_stride[i - 1] = base_stride[i] * transform.base_dims[i];
  }
  const uint64_t total = base_stride[0] * transform.base_dims[0];
  const uint64_t elements = out.size() / 4;
  if (base_bytes != 4 * total || transform.base_element > total ||
      elements > total - transform.base_element) {
    return Status::Corruption("a permuted chunk that does not fit its base");
  }
  std::vector<uint64_t> dims(rank), stride(rank), index(rank);
  for (size_t i = 0; i < rank; ++i) {
    dims[i] = transform.base_dims[transform.axes[i]];
    stride[i] = base_stride[transform.axes[i]];
  }
  uint64_t at = 0;  // the base element of derived element base_element
  for (uint64_t rest = transform.base_element, i = rank; i-- > 0;) {
    index[i] = rest % dims[i];
    rest /= dims[i];
    at += index[i] * stride[i];
  }
  for (uint64_t k = 0; k < elements; ++k) {
    std::memcpy(out.data() + 4 * k, element(at), 4);
    for (size_t i = rank; i-- > 0;) {
      at += stride[i];
      if (++index[i] < dims[i]) break;
      at -= stride[i] * dims[i];
      index[i] = 0;
    }
  }
  return Status::Ok();
}

Status Permute(const Transform& transform, std::span<const uint8_t> base, std::span<uint8_t> out) {
  return PermuteWith(
      transform, base.size(), [&](uint64_t at) { return base.data() + 4 * at; }, out);
}

// The elements per piece when every piece but the last holds the same
// power of two of them, and the last no more: then a base element's piece
// is a shift away.
std::optional<unsigned> UniformPieceShift(std::span<const std::span<const uint8_t>> pieces) {
  const uint64_t size = pieces.front().size();
  if (size < 4 || size % 4 != 0 || !std::has_single_bit(size / 4)) return std::nullopt;
  for (size_t i = 1; i < pieces.size(); ++i) {
    const uint64_t piece = pieces[i].size();
    if (i + 1 < pieces.size() ? piece != size : piece > size || piece % 4 != 0) {
      return std::nullopt;
    }
  }
  return static_cast<unsigned>(std::countr_zero(size / 4));
}

}  // namespace

Status PredictFromPieces(const Transform& transform,
                         std::span<const std::span<const uint8_t>> pieces, std::span<uint8_t> out) {
  if (pieces.size() == 1) return Predict(transform, pieces.front(), out);
  if (pieces.empty()) return Status::Corruption("a derivation without its base");
  const std::optional<unsigned> shift = UniformPieceShift(pieces);
  if (!IsPermutation(transform.kind) || !shift || out.size() % 4 != 0) {
    std::vector<uint8_t> joined;
    for (std::span<const uint8_t> piece : pieces)
      joined.insert(joined.end(), piece.begin(), piece.end());
    return Predict(transform, joined, out);
  }
  uint64_t base_bytes = 0;
  for (std::span<const uint8_t> piece : pieces) base_bytes += piece.size();
  const uint64_t mask = (uint64_t{1} << *shift) - 1;
  return PermuteWith(
      transform, base_bytes,
      [&](uint64_t at) { return pieces[at >> *shift].data() + 4 * (at & mask); }, out);
}

Status Predict(const Transform& transform, std::span<const uint8_t> base, std::span<uint8_t> out) {
  const Derivation kind = transform.kind;
  if (kind < Derivation::kCastF32ToF16 || kind > kLastDerivation) {
    return Status::Corruption("unknown derivation " + std::to_string(static_cast<int>(kind)));
  }
  if (IsPermutation(kind)) {
    if (out.size() % 4 != 0) return Status::Corruption("a permuted chunk of odd size");
    return Permute(transform, base, out);
  }
  const ElementSizes sizes = ElementSizesOf(kind);
  const uint64_t elements = out.size() / sizes.derived;
  const bool upcast = kind == Derivation::kCastF16ToF32 || kind == Derivation::kCastBF16ToF32;
  // An upcast reads a window of its base; the others read all of it.
  const bool base_fits = upcast ? base.size() % sizes.base == 0 &&
                                      transform.base_element <= base.size() / sizes.base &&
                                      elements <= base.size() / sizes.base - transform.base_element
                                : base.size() == elements * sizes.base;
  if (out.size() % sizes.derived != 0 || !base_fits) {
    return Status::Corruption("a " + std::string(DerivationName(kind)) + " chunk of " +
                              std::to_string(out.size()) + " bytes against a base of " +
                              std::to_string(base.size()));
  }
  switch (kind) {
    case Derivation::kCastF32ToF16:
      CastDown<CastF32ToF16>(base, out);
      return Status::Ok();
    case Derivation::kCastF32ToBF16:
      CastDown<CastF32ToBF16>(base, out);
      return Status::Ok();
    case Derivation::kScalePerChannel:
      return ScalePerChannel(transform, base, out);
    case Derivation::kQuantizeF32ToI8:
    case Derivation::kQuantizeF32ToU8:
      return Quantize(transform, base, out);
    case Derivation::kQuantizePerChannelF32ToI8:
    case Derivation::kQuantizePerChannelF32ToU8:
      return QuantizePerChannel(transform, base, out);
    case Derivation::kCastF16ToF32:
      CastUp<CastF16ToF32>(base.subspan(2 * transform.base_element), out);
      return Status::Ok();
    case Derivation::kCastBF16ToF32:
      CastUp<CastBF16ToF32>(base.subspan(2 * transform.base_element), out);
      return Status::Ok();
    case Derivation::kPermute32:
    case Derivation::kPermute32Pieces:
      break;  // above
  }
  return Status::Corruption("unknown derivation");
}

}  // namespace re2po
