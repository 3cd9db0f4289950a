// Derivations: the fp32 -> fp16 and -> bf16 casts round as numpy and torch
// do, checked against independent references (GCC's _Float16 conversion,
// and a nearest-of-two search), and a derived chunk value decodes back to
// its bytes only against its own base.
#include "store/chunks/derivation.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

#include "store/chunks/chunk_decoder.h"
#include "store/chunks/codec.h"
#include "tests/testutil/status_testutil.h"

namespace re2po {
namespace {

uint32_t Bits(float value) { return std::bit_cast<uint32_t>(value); }

// Every exponent, both signs, a spread of significands, and the bit
// patterns next to each rounding boundary.
std::vector<uint32_t> SampleFloats() {
  std::vector<uint32_t> samples;
  for (uint64_t bits = 0; bits <= 0xFFFFFFFFu; bits += 65521) samples.push_back(uint32_t(bits));
  for (uint32_t exponent = 0; exponent < 256; ++exponent) {
    for (uint32_t low : {0u, 1u, 0xFFFu, 0x1000u, 0x1001u, 0x2000u, 0x3000u, 0x7FFFu, 0x8000u,
                         0x8001u, 0x18000u, 0x7FFFFFu}) {
      for (uint32_t sign : {0u, 0x80000000u}) samples.push_back(sign | (exponent << 23) | low);
    }
  }
  return samples;
}

TEST(DerivationTest, F16CastMatchesTheCompilersRoundToNearestEven) {
  for (uint32_t bits : SampleFloats()) {
    const float value = std::bit_cast<float>(bits);
    if (std::isnan(value)) continue;  // NaN payloads are checked below
    const _Float16 reference = static_cast<_Float16>(value);
    ASSERT_EQ(CastF32ToF16(bits), std::bit_cast<uint16_t>(reference)) << std::hex << bits;
  }
}

TEST(DerivationTest, F16CastOfSpecialValues) {
  EXPECT_EQ(CastF32ToF16(Bits(1.0f)), 0x3C00);
  EXPECT_EQ(CastF32ToF16(Bits(-0.0f)), 0x8000);
  EXPECT_EQ(CastF32ToF16(Bits(65504.0f)), 0x7BFF);
  EXPECT_EQ(CastF32ToF16(Bits(65519.0f)), 0x7BFF);
  EXPECT_EQ(CastF32ToF16(Bits(65520.0f)), 0x7C00);  // the tie rounds to even: infinity
  EXPECT_EQ(CastF32ToF16(Bits(-INFINITY)), 0xFC00);
  EXPECT_EQ(CastF32ToF16(Bits(std::ldexp(1.0f, -24))), 0x0001);  // smallest subnormal
  EXPECT_EQ(CastF32ToF16(Bits(std::ldexp(1.0f, -25))), 0x0000);  // a tie: to even, zero
  EXPECT_EQ(CastF32ToF16(Bits(std::ldexp(3.0f, -25))), 0x0002);  // a tie: to even, 2
  EXPECT_EQ(CastF32ToF16(Bits(std::ldexp(1.0f, -14))), 0x0400);  // smallest normal
  EXPECT_EQ(CastF32ToF16(Bits(1.0f + std::ldexp(1.0f, -11))), 0x3C00);
  EXPECT_EQ(CastF32ToF16(Bits(1.0f + std::ldexp(3.0f, -11))), 0x3C02);
  // NaN: torch's .half() gives the quiet NaN with the input's sign.
  EXPECT_EQ(CastF32ToF16(0x7FC00000), 0x7E00);
  EXPECT_EQ(CastF32ToF16(0xFF800001), 0xFE00);
}

// The bfloat16 nearest to `bits`, ties to the even one: the reference.
uint16_t NearestBF16(uint32_t bits) {
  const float value = std::bit_cast<float>(bits);
  const uint16_t low = static_cast<uint16_t>(bits >> 16);
  const uint16_t high = static_cast<uint16_t>(low + 1);
  const double below = std::bit_cast<float>(uint32_t(low) << 16);
  // Past the largest finite bfloat16 the next value up is infinity, which
  // rounding treats as 2^128.
  const double above = (high & 0x7FFF) == 0x7F80 ? std::copysign(std::ldexp(1.0, 128), value)
                                                 : std::bit_cast<float>(uint32_t(high) << 16);
  if (std::isinf(value) || (bits & 0xFFFF) == 0) return low;
  const double to_low = std::fabs(double(value) - below);
  const double to_high = std::fabs(above - double(value));
  if (to_low != to_high) return to_low < to_high ? low : high;
  return (low & 1) == 0 ? low : high;
}

TEST(DerivationTest, BF16CastRoundsToTheNearestEven) {
  for (uint32_t bits : SampleFloats()) {
    if (std::isnan(std::bit_cast<float>(bits))) {
      EXPECT_EQ(CastF32ToBF16(bits), 0x7FC0) << std::hex << bits;
    } else {
      ASSERT_EQ(CastF32ToBF16(bits), NearestBF16(bits)) << std::hex << bits;
    }
  }
  EXPECT_EQ(CastF32ToBF16(Bits(3.4e38f)), 0x7F80);  // rounds up to infinity
}

TEST(DerivationTest, PredictRefusesSizesThatDoNotMatch) {
  std::vector<uint8_t> base(8), out(4), odd(3);
  EXPECT_TRUE(Predict(Derivation::kCastF32ToF16, base, out).ok());
  EXPECT_TRUE(Predict(Derivation::kCastF32ToF16, std::span(base).first(6), out).IsCorruption());
  EXPECT_TRUE(Predict(Derivation::kCastF32ToBF16, base, odd).IsCorruption());
  EXPECT_TRUE(Predict(static_cast<Derivation>(9), base, out).IsCorruption());
}

ChunkBytes BytesOf(std::vector<uint8_t> bytes) {
  return std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
}

TEST(DerivationTest, ADerivedValueDecodesOnlyAgainstItsBase) {
  std::vector<uint8_t> base(4 * 4096), raw(2 * 4096), prediction(2 * 4096);
  for (size_t i = 0; i < 4096; ++i) {
    const float value = std::sin(float(i)) * 0.05f;
    std::memcpy(base.data() + 4 * i, &value, 4);
  }
  ASSERT_TRUE(Predict(Derivation::kCastF32ToF16, base, prediction).ok());
  raw = prediction;
  raw[100] ^= 0x01;  // the producer rounded one element otherwise
  const Digest name = Sha256Of(std::span<const uint8_t>(raw));
  const Digest base_name = Sha256Of(std::span<const uint8_t>(base));
  size_t payload_size = 0;
  const std::string value =
      EncodeDerivedChunkValue(name, raw, base_name, Derivation::kCastF32ToF16, prediction,
                              DType::kF16, CodecOptions{}, payload_size);
  EXPECT_LT(payload_size, raw.size() / 20) << "the residual is one bit";

  auto decode = [&](ChunkBytes given) {
    return DecodeChunkValue(
        name, value, ChunkCheck::kFast, false,
        [&](const Digest& wanted) -> Result<ChunkBytes> {
          EXPECT_EQ(wanted, base_name);
          return given;
        },
        nullptr);
  };
  Result<ChunkBytes> decoded = decode(BytesOf(base));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(**decoded, raw);

  std::vector<uint8_t> other = base;
  other[4 * 17 + 3] ^= 0x40;  // another base: a wrong prediction
  EXPECT_TRUE(decode(BytesOf(other)).status().IsCorruption());
  EXPECT_TRUE(decode(BytesOf(std::vector<uint8_t>(100))).status().IsCorruption());
  Result<ChunkBytes> as_base = DecodeChunkValue(
      name, value, ChunkCheck::kFast, /*base_of_delta=*/true,
      [&](const Digest&) -> Result<ChunkBytes> { return BytesOf(base); }, nullptr);
  EXPECT_TRUE(as_base.status().IsCorruption()) << "a derived chunk is never a base";
}

}  // namespace
}  // namespace re2po
