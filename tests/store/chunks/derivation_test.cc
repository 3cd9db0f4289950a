// Derivations: the fp32 -> fp16 and -> bf16 casts round as numpy and torch
// do, checked against independent references (GCC's _Float16 conversion,
// and a nearest-of-two search), and a derived chunk value decodes back to
// its bytes only against its own base.
#include "store/chunks/derivation.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

#include "store/base/coding.h"
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
  EXPECT_TRUE(Predict(Transform(Derivation::kCastF32ToF16), base, out).ok());
  EXPECT_TRUE(
      Predict(Transform(Derivation::kCastF32ToF16), std::span(base).first(6), out).IsCorruption());
  EXPECT_TRUE(Predict(Transform(Derivation::kCastF32ToBF16), base, odd).IsCorruption());
  EXPECT_TRUE(Predict(Transform(static_cast<Derivation>(9)), base, out).IsCorruption());
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
  ASSERT_TRUE(Predict(Transform(Derivation::kCastF32ToF16), base, prediction).ok());
  raw = prediction;
  raw[100] ^= 0x01;  // the producer rounded one element otherwise
  const Digest name = Sha256Of(std::span<const uint8_t>(raw));
  const Digest base_name = Sha256Of(std::span<const uint8_t>(base));
  size_t payload_size = 0;
  const std::string value =
      EncodeDerivedChunkValue(name, raw, base_name, Transform(Derivation::kCastF32ToF16),
                              prediction, DType::kF16, CodecOptions{}, payload_size);
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

std::vector<uint8_t> F32Bytes(const std::vector<float>& values) {
  std::vector<uint8_t> bytes(4 * values.size());
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

TEST(DerivationTest, F16UpcastIsExactForEveryHalf) {
  for (uint32_t half = 0; half <= 0xFFFF; ++half) {
    const _Float16 value = std::bit_cast<_Float16>(static_cast<uint16_t>(half));
    const uint32_t bits = CastF16ToF32(static_cast<uint16_t>(half));
    if (std::isnan(static_cast<float>(value))) {
      EXPECT_TRUE(std::isnan(std::bit_cast<float>(bits)));
      EXPECT_EQ(CastF32ToF16(bits) & 0x8000, half & 0x8000);
    } else {
      ASSERT_EQ(bits, Bits(static_cast<float>(value))) << std::hex << half;
    }
  }
}

TEST(DerivationTest, UpcastReadsAWindowOfItsBase) {
  std::vector<uint8_t> base(8);  // four halves: 1, 2, -0.5, 65504
  const uint16_t halves[] = {0x3C00, 0x4000, 0xB800, 0x7BFF};
  std::memcpy(base.data(), halves, sizeof halves);
  Transform up(Derivation::kCastF16ToF32);
  up.base_element = 2;
  std::vector<uint8_t> out(8);
  ASSERT_TRUE(Predict(up, base, out).ok());
  EXPECT_EQ(out, F32Bytes({-0.5f, 65504.0f}));
  up.base_element = 3;  // the window runs past the base
  EXPECT_TRUE(Predict(up, base, out).IsCorruption());
  Transform bf(Derivation::kCastBF16ToF32);
  std::vector<uint8_t> one(4);
  ASSERT_TRUE(Predict(bf, std::span(base).first(2), one).ok());
  EXPECT_EQ(one, F32Bytes({std::bit_cast<float>(0x3C000000u)}));
}

TEST(DerivationTest, ScalePerChannelMultipliesEachChannelByItsFactor) {
  // Three elements per channel, starting one element into channel 0.
  Transform scaled(Derivation::kScalePerChannel);
  scaled.channel_elements = 3;
  scaled.phase = 1;
  scaled.scales = {2.0f, -0.5f, 10.0f};
  const std::vector<uint8_t> base = F32Bytes({1, 2, 3, 4, 5, 6});
  std::vector<uint8_t> out(base.size());
  ASSERT_TRUE(Predict(scaled, base, out).ok());
  EXPECT_EQ(out, F32Bytes({2, 4, -1.5f, -2, -2.5f, 60}));
  scaled.scales.pop_back();  // a factor short
  EXPECT_TRUE(Predict(scaled, base, out).IsCorruption());
  scaled.scales = {1, 1, 1};
  scaled.phase = 3;  // not inside a channel
  EXPECT_TRUE(Predict(scaled, base, out).IsCorruption());
}

TEST(DerivationTest, QuantizeRoundsHalfToEvenAndClamps) {
  EXPECT_EQ(QuantizeF32(2.5f, 1.0f, 0, -128, 127), 2);
  EXPECT_EQ(QuantizeF32(3.5f, 1.0f, 0, -128, 127), 4);
  EXPECT_EQ(QuantizeF32(-2.5f, 1.0f, 0, -128, 127), -2);
  EXPECT_EQ(QuantizeF32(1000.0f, 1.0f, 0, -128, 127), 127);
  EXPECT_EQ(QuantizeF32(-INFINITY, 1.0f, 0, -128, 127), -128);
  EXPECT_EQ(QuantizeF32(NAN, 0.1f, 7, 0, 255), 7);
  EXPECT_EQ(QuantizeF32(-1.0f, 0.1f, 128, 0, 255), 118);
  Transform q(Derivation::kQuantizeF32ToU8);
  q.scale = 0.5f;
  q.zero_point = 10;
  std::vector<uint8_t> out(3);
  ASSERT_TRUE(Predict(q, F32Bytes({1.0f, -5.25f, 200.0f}), out).ok());
  EXPECT_EQ(out, (std::vector<uint8_t>{12, 0, 255}));
  for (float hostile : {0.0f, -1.0f, NAN, INFINITY}) {
    q.scale = hostile;
    EXPECT_TRUE(Predict(q, F32Bytes({1, 2, 3}), out).IsCorruption()) << hostile;
  }
}

TEST(DerivationTest, PerChannelQuantizationUsesEachChannelsScaleAndZeroPoint) {
  // Two elements per channel, starting one element into channel 0.
  Transform q(Derivation::kQuantizePerChannelF32ToI8);
  q.channel_elements = 2;
  q.phase = 1;
  q.scales = {1.0f, 0.5f, 0.25f};
  q.zero_points = {0, -10, 3};
  std::vector<uint8_t> out(5);
  ASSERT_TRUE(Predict(q, F32Bytes({7.0f, 1.0f, -2.0f, 1.0f, 100.0f}), out).ok());
  EXPECT_EQ(out, (std::vector<uint8_t>{7, uint8_t(-8), uint8_t(-14), 7, 127}));
  q.zero_points.pop_back();  // a zero point short
  EXPECT_TRUE(Predict(q, F32Bytes({1, 2, 3, 4, 5}), out).IsCorruption());
  q.zero_points = {0, 0, 0};
  q.scales[1] = NAN;
  EXPECT_TRUE(Predict(q, F32Bytes({1, 2, 3, 4, 5}), out).IsCorruption());

  q.scales[1] = 0.5f;
  q.kind = Derivation::kQuantizePerChannelF32ToU8;
  Result<Transform> decoded = Transform::Decode(q.kind, q.EncodeParams());
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->channel_elements, 2u);
  EXPECT_EQ(decoded->phase, 1u);
  EXPECT_EQ(decoded->scales, q.scales);
  EXPECT_EQ(decoded->zero_points, q.zero_points);
  std::string far;  // one channel, its zero point no 8-bit type has
  PutVarint(far, 4);
  PutVarint(far, 0);
  PutVarint(far, 1);
  PutFixed32(far, Bits(1.0f));
  PutVarint(far, ZigZag(-1000));
  EXPECT_TRUE(Transform::Decode(q.kind, far).status().IsCorruption());
}

TEST(DerivationTest, ParametersRoundTripAndHostileOnesAreRefused) {
  Transform scaled(Derivation::kScalePerChannel);
  scaled.channel_elements = 9;
  scaled.phase = 4;
  scaled.scales = {1.5f, -0.25f};
  Result<Transform> decoded = Transform::Decode(scaled.kind, scaled.EncodeParams());
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->channel_elements, 9u);
  EXPECT_EQ(decoded->phase, 4u);
  EXPECT_EQ(decoded->scales, scaled.scales);
  Transform q(Derivation::kQuantizeF32ToI8);
  q.scale = 0.03f;
  q.zero_point = -3;
  decoded = Transform::Decode(q.kind, q.EncodeParams());
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->scale, 0.03f);
  EXPECT_EQ(decoded->zero_point, -3);

  const std::string params = scaled.EncodeParams();
  EXPECT_TRUE(Transform::Decode(scaled.kind, params + "x").status().IsCorruption());
  EXPECT_TRUE(
      Transform::Decode(scaled.kind, params.substr(0, params.size() - 1)).status().IsCorruption());
  std::string many;  // a count of factors the bytes cannot hold
  PutVarint(many, 9);
  PutVarint(many, 0);
  PutVarint(many, uint64_t{1} << 40);
  EXPECT_TRUE(Transform::Decode(scaled.kind, many).status().IsCorruption());
  std::string far;  // a zero point no 8-bit type has
  PutFixed32(far, Bits(1.0f));
  PutVarint(far, ZigZag(100000));
  EXPECT_TRUE(Transform::Decode(q.kind, far).status().IsCorruption());
  EXPECT_TRUE(Transform::Decode(static_cast<Derivation>(200), "").status().IsCorruption());
}

TEST(DerivationTest, ADerivedValueWithParametersDecodesAgainstItsBase) {
  std::vector<float> weights(4096);
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = std::cos(float(i)) * 0.1f;
  const std::vector<uint8_t> base = F32Bytes(weights);
  Transform q(Derivation::kQuantizeF32ToI8);
  q.scale = 0.1f / 127;
  std::vector<uint8_t> prediction(weights.size());
  ASSERT_TRUE(Predict(q, base, prediction).ok());
  std::vector<uint8_t> raw = prediction;
  raw[7] ^= 0x01;
  const Digest name = Sha256Of(std::span<const uint8_t>(raw));
  const Digest base_name = Sha256Of(std::span<const uint8_t>(base));
  size_t payload_size = 0;
  const std::string value = EncodeDerivedChunkValue(name, raw, base_name, q, prediction, DType::kI8,
                                                    CodecOptions{}, payload_size);
  EXPECT_LT(payload_size, raw.size() / 20);
  Result<DerivedPayload> payload = ParseDerivedPayload(ParseChunkValue(value)->payload);
  ASSERT_TRUE(payload.ok()) << payload.status().ToString();
  EXPECT_EQ(payload->transform.scale, q.scale);
  EXPECT_EQ(payload->base, base_name);
  Result<ChunkBytes> decoded = DecodeChunkValue(
      name, value, ChunkCheck::kFast, false,
      [&](const Digest&) -> Result<ChunkBytes> { return BytesOf(base); }, nullptr);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(**decoded, raw);
}

TEST(DerivationTest, PermuteLaysTheBaseOutAlongOtherAxes) {
  // A 2x3x4 base, laid out as axes (2, 0, 1): shape 4x2x3.
  std::vector<float> values(24);
  for (size_t i = 0; i < values.size(); ++i) values[i] = float(i);
  Transform permuted(Derivation::kPermute32);
  permuted.base_dims = {2, 3, 4};
  permuted.axes = {2, 0, 1};
  std::vector<uint8_t> out(4 * 24);
  ASSERT_TRUE(Predict(permuted, F32Bytes(values), out).ok());
  std::vector<float> expected;
  for (int k = 0; k < 4; ++k) {
    for (int i = 0; i < 2; ++i) {
      for (int j = 0; j < 3; ++j) expected.push_back(float(i * 12 + j * 4 + k));
    }
  }
  EXPECT_EQ(out, F32Bytes(expected));
  // A piece from element 5 on: the same elements.
  permuted.base_element = 5;
  std::vector<uint8_t> piece(4 * 7);
  ASSERT_TRUE(Predict(permuted, F32Bytes(values), piece).ok());
  EXPECT_EQ(piece, std::vector<uint8_t>(out.begin() + 20, out.begin() + 48));
  Result<Transform> decoded = Transform::Decode(permuted.kind, permuted.EncodeParams());
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->axes, permuted.axes);
  EXPECT_EQ(decoded->base_dims, permuted.base_dims);
  EXPECT_EQ(decoded->base_element, 5u);

  permuted.base_element = 20;  // past the end
  EXPECT_TRUE(Predict(permuted, F32Bytes(values), piece).IsCorruption());
  permuted.base_element = 0;
  EXPECT_TRUE(Predict(permuted, F32Bytes({1, 2, 3}), piece).IsCorruption()) << "base too small";
  permuted.axes = {0, 0, 1};  // no permutation
  EXPECT_TRUE(Transform::Decode(permuted.kind, permuted.EncodeParams()).status().IsCorruption());
  permuted.axes = {2, 0, 1};
  permuted.base_dims = {2, 0, 4};
  EXPECT_TRUE(Transform::Decode(permuted.kind, permuted.EncodeParams()).status().IsCorruption());
}

TEST(DerivationTest, APermutationOfPiecesReadsTheirConcatenationAndNeedsEveryPiece) {
  // A 16x64 base stored as two pieces, transposed to 64x16; the chunk holds
  // derived elements 100 to 899.
  std::vector<float> values(16 * 64);
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(float(i));
  const std::vector<uint8_t> base = F32Bytes(values);
  const std::vector<uint8_t> first(base.begin(), base.begin() + 1600);
  const std::vector<uint8_t> second(base.begin() + 1600, base.end());
  const Digest first_name = Sha256Of(std::span<const uint8_t>(first));
  const Digest second_name = Sha256Of(std::span<const uint8_t>(second));
  Transform permuted(Derivation::kPermute32Pieces);
  permuted.base_dims = {16, 64};
  permuted.axes = {1, 0};
  permuted.base_element = 100;
  permuted.more_bases = {second_name};
  std::vector<uint8_t> raw(4 * 800);
  ASSERT_TRUE(Predict(permuted, base, raw).ok());
  raw[9] ^= 0x40;  // a value the producer wrote otherwise
  std::vector<uint8_t> prediction(raw.size());
  ASSERT_TRUE(Predict(permuted, base, prediction).ok());
  const Digest name = Sha256Of(std::span<const uint8_t>(raw));
  size_t payload_size = 0;
  const std::string value = EncodeDerivedChunkValue(name, raw, first_name, permuted, prediction,
                                                    DType::kF32, CodecOptions{}, payload_size);
  Result<DerivedPayload> payload = ParseDerivedPayload(ParseChunkValue(value)->payload);
  ASSERT_TRUE(payload.ok()) << payload.status().ToString();
  EXPECT_EQ(payload->transform.more_bases, permuted.more_bases);
  auto decode = [&](bool second_present) {
    return DecodeChunkValue(
        name, value, ChunkCheck::kFast, false,
        [&](const Digest& wanted) -> Result<ChunkBytes> {
          if (wanted == first_name) return BytesOf(first);
          if (wanted == second_name && second_present) return BytesOf(second);
          return Status::NotFound("no such chunk");
        },
        nullptr);
  };
  Result<ChunkBytes> decoded = decode(true);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(**decoded, raw);
  EXPECT_FALSE(decode(false).ok()) << "a missing piece is an error, never other bytes";

  std::string none = permuted.EncodeParams();  // the count of more pieces: 0
  none.resize(none.size() - 33);
  none.push_back(0);
  EXPECT_TRUE(Transform::Decode(permuted.kind, none).status().IsCorruption());
}

TEST(DerivationTest, PredictingFromPiecesEqualsPredictingFromTheirConcatenation) {
  // A 3x5x7x11 base: 1155 elements in pieces of 256 (a power of two, read
  // in place) or of 300 (joined first), the last one shorter.
  std::vector<float> values(3 * 5 * 7 * 11);
  for (size_t i = 0; i < values.size(); ++i) values[i] = float(i) * 0.5f;
  const std::vector<uint8_t> base = F32Bytes(values);
  Transform permuted(Derivation::kPermute32Pieces);
  permuted.base_dims = {3, 5, 7, 11};
  permuted.axes = {2, 3, 1, 0};
  permuted.base_element = 123;
  std::vector<uint8_t> expected(4 * 900);
  ASSERT_TRUE(Predict(permuted, base, expected).ok());
  for (size_t piece_elements : {256u, 300u}) {
    SCOPED_TRACE(piece_elements);
    std::vector<std::span<const uint8_t>> pieces;
    for (size_t at = 0; at < base.size(); at += 4 * piece_elements) {
      pieces.push_back(std::span(base).subspan(at, std::min(4 * piece_elements, base.size() - at)));
    }
    std::vector<uint8_t> out(expected.size());
    ASSERT_TRUE(PredictFromPieces(permuted, pieces, out).ok());
    EXPECT_EQ(out, expected);
    pieces.pop_back();  // a piece short: the base no longer fits
    EXPECT_TRUE(PredictFromPieces(permuted, pieces, out).IsCorruption());
  }
}

}  // namespace
}  // namespace re2po
