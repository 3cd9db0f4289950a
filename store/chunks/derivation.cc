#include "store/chunks/derivation.h"

#include <endian.h>

#include <cstring>
#include <string>

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

std::string_view DerivationName(Derivation derivation) {
  switch (derivation) {
    case Derivation::kCastF32ToF16:
      return "cast f16";
    case Derivation::kCastF32ToBF16:
      return "cast bf16";
  }
  return "unknown derivation";
}

std::optional<Derivation> CastBetween(DType from, DType to) {
  if (from == DType::kF32 && to == DType::kF16) return Derivation::kCastF32ToF16;
  if (from == DType::kF32 && to == DType::kBF16) return Derivation::kCastF32ToBF16;
  return std::nullopt;
}

uint64_t BaseBytesPerDerivedByte(Derivation) { return 2; }

namespace {

template <uint16_t (*Cast)(uint32_t)>
void CastAll(std::span<const uint8_t> base, std::span<uint8_t> out) {
  for (size_t i = 0, elements = out.size() / 2; i < elements; ++i) {
    uint32_t word;
    std::memcpy(&word, base.data() + 4 * i, 4);
    const uint16_t half = htole16(Cast(le32toh(word)));
    std::memcpy(out.data() + 2 * i, &half, 2);
  }
}

}  // namespace

Status Predict(Derivation derivation, std::span<const uint8_t> base, std::span<uint8_t> out) {
  if (derivation != Derivation::kCastF32ToF16 && derivation != Derivation::kCastF32ToBF16) {
    return Status::Corruption("unknown derivation " + std::to_string(static_cast<int>(derivation)));
  }
  if (out.size() % 2 != 0 || base.size() != BaseBytesPerDerivedByte(derivation) * out.size()) {
    return Status::Corruption("a " + std::string(DerivationName(derivation)) + " chunk of " +
                              std::to_string(out.size()) + " bytes against a base of " +
                              std::to_string(base.size()));
  }
  if (derivation == Derivation::kCastF32ToF16) {
    CastAll<CastF32ToF16>(base, out);
  } else {
    CastAll<CastF32ToBF16>(base, out);
  }
  return Status::Ok();
}

}  // namespace re2po
