// Chunk codecs: compressible bytes are stored with zstd, fixed-width tensors
// as byte planes, and both come back exactly with their checksum; what does
// not compress stays raw; damaged payloads are Corruption.
#include "store/chunks/codec.h"

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "store/base/coding.h"
#include "tests/testutil/status_testutil.h"

namespace re2po {
namespace {

std::vector<uint8_t> Compressible(size_t size) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>((i / 64) % 7);
  return bytes;
}

// Normal(0, 0.05) float32s, as trained weights are: few exponents, random mantissas.
std::vector<uint8_t> FloatWeights(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<uint8_t> bytes(count * 4);
  for (size_t i = 0; i < count; ++i) {
    const float value = normal(rng);
    std::memcpy(bytes.data() + 4 * i, &value, 4);
  }
  return bytes;
}

struct Encoded {
  Digest name;
  std::string value;
  size_t payload_size = 0;
  ChunkValue parsed;
};

Encoded Encode(const std::vector<uint8_t>& raw, DType dtype, CodecOptions options = {}) {
  Encoded encoded;
  encoded.name = Sha256Of(std::span<const uint8_t>(raw));
  encoded.value = EncodeChunkValue(encoded.name, raw, dtype, options, encoded.payload_size);
  Result<ChunkValue> parsed = ParseChunkValue(encoded.value);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  if (parsed.ok()) encoded.parsed = *parsed;
  return encoded;
}

// Decodes and checks against the value's checksum, as a read does.
Status RoundTrip(const Encoded& encoded, std::vector<uint8_t>& out) {
  out.assign(encoded.parsed.raw_size, 0xee);
  RETURN_IF_ERROR(DecodeChunk(encoded.parsed.codec, encoded.parsed.payload, out));
  if (!encoded.parsed.checksum || *encoded.parsed.checksum != ChunkChecksum(encoded.name, out)) {
    return Status::Corruption("checksum");
  }
  return Status::Ok();
}

TEST(CodecTest, CompressibleBytesUseZstdAndRoundTrip) {
  std::vector<uint8_t> raw = Compressible(1 << 20);
  Encoded encoded = Encode(raw, DType::kUnknown);
  EXPECT_EQ(encoded.parsed.codec, CodecId::kZstd);
  EXPECT_EQ(encoded.parsed.payload.size(), encoded.payload_size);
  EXPECT_LT(encoded.payload_size, raw.size() / 10);
  std::vector<uint8_t> out;
  ASSERT_OK(RoundTrip(encoded, out));
  EXPECT_TRUE(out == raw);
}

TEST(CodecTest, RandomBytesStayRawAtAnyLevel) {
  std::vector<uint8_t> raw = testing::RandomBytes(100000, 9);
  for (int level : {1, 3, 19}) {
    for (DType dtype : {DType::kUnknown, DType::kF32, DType::kF64, DType::kBF16}) {
      Encoded encoded = Encode(raw, dtype, CodecOptions{level, 0.03, true});
      EXPECT_EQ(encoded.parsed.codec, CodecId::kRaw) << level;
      EXPECT_EQ(encoded.payload_size, raw.size());
      std::vector<uint8_t> out;
      ASSERT_OK(RoundTrip(encoded, out));
      EXPECT_TRUE(out == raw);
    }
  }
}

TEST(CodecTest, TinyAndEmptyChunksStayRaw) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{63}}) {
    std::vector<uint8_t> raw(size, 0);
    Encoded encoded = Encode(raw, DType::kF32);
    EXPECT_EQ(encoded.parsed.codec, CodecId::kRaw) << size;
    std::vector<uint8_t> out;
    ASSERT_OK(RoundTrip(encoded, out));
    EXPECT_TRUE(out == raw);
  }
}

// Trained-like float32 weights: plain zstd saves under 10 %; byte planes
// compress the exponent plane and keep the mantissas raw.
TEST(CodecTest, FloatTensorsAreStoredAsBytePlanesSmallerThanPlainZstd) {
  std::vector<uint8_t> raw = FloatWeights(1 << 18, 4);
  Encoded planes = Encode(raw, DType::kF32);
  Encoded plain = Encode(raw, DType::kF32, CodecOptions{1, 0.03, false});
  EXPECT_EQ(planes.parsed.codec, CodecId::kBytePlanes);
  EXPECT_EQ(plain.parsed.codec, CodecId::kZstd);
  EXPECT_LT(planes.payload_size, plain.payload_size * 95 / 100)
      << "planes " << planes.payload_size << ", zstd " << plain.payload_size;
  std::vector<uint8_t> out;
  ASSERT_OK(RoundTrip(planes, out));
  EXPECT_TRUE(out == raw);
}

// Every width, and sizes that leave a tail shorter than an element and runs
// shorter than one SIMD block.
TEST(CodecTest, BytePlanesRoundTripEveryWidthAndTail) {
  for (DType dtype : {DType::kF16, DType::kBF16, DType::kF32, DType::kI32, DType::kF64, DType::kI64,
                      DType::kComplex64}) {
    for (size_t size : {size_t{1000}, size_t{4097}, size_t{65543}, size_t{1 << 20}}) {
      std::vector<uint8_t> raw = FloatWeights((size + 3) / 4, static_cast<uint32_t>(size));
      raw.resize(size);
      for (size_t i = 0; i < size; i += 3) raw[i] = 0;  // something for every width to find
      Encoded encoded = Encode(raw, dtype);
      EXPECT_EQ(encoded.parsed.codec, CodecId::kBytePlanes) << DTypeName(dtype) << " " << size;
      std::vector<uint8_t> out;
      const Status status = RoundTrip(encoded, out);
      ASSERT_TRUE(status.ok()) << DTypeName(dtype) << " " << size << ": " << status.ToString();
      EXPECT_TRUE(out == raw) << DTypeName(dtype) << " " << size;
    }
  }
}

TEST(CodecTest, OnlyFixedWidthNumbersHavePlanes) {
  EXPECT_EQ(PlaneWidth(DType::kF32), 4u);
  EXPECT_EQ(PlaneWidth(DType::kBF16), 2u);
  EXPECT_EQ(PlaneWidth(DType::kComplex128), 8u);
  for (DType dtype : {DType::kUnknown, DType::kI8, DType::kU8, DType::kBool, DType::kF8,
                      DType::kQuantized, DType::kString}) {
    EXPECT_EQ(PlaneWidth(dtype), 0u) << DTypeName(dtype);
  }
}

TEST(CodecTest, WrongSizeIsCorruption) {
  for (DType dtype : {DType::kUnknown, DType::kF32}) {
    Encoded encoded = Encode(Compressible(4096), dtype);
    ASSERT_NE(encoded.parsed.codec, CodecId::kRaw);
    std::vector<uint8_t> short_out(4095), long_out(4097);
    EXPECT_STATUS_CODE(StatusCode::kCorruption,
                       DecodeChunk(encoded.parsed.codec, encoded.parsed.payload, short_out));
    EXPECT_STATUS_CODE(StatusCode::kCorruption,
                       DecodeChunk(encoded.parsed.codec, encoded.parsed.payload, long_out));
  }
  std::vector<uint8_t> nine(9);
  EXPECT_STATUS_CODE(StatusCode::kCorruption,
                     DecodeChunk(CodecId::kRaw, std::string(10, 'x'), nine));
}

// Every truncation and every single-byte change of a payload is either
// refused or decodes to bytes the checksum refuses: never a crash, never
// bytes passed off as the chunk.
TEST(CodecTest, DamagedPayloadsAreCorruptionOrFailTheChecksum) {
  for (DType dtype : {DType::kUnknown, DType::kF32}) {
    std::vector<uint8_t> raw = dtype == DType::kF32 ? FloatWeights(2048, 1) : Compressible(8192);
    Encoded encoded = Encode(raw, dtype);
    ASSERT_NE(encoded.parsed.codec, CodecId::kRaw);
    const std::string payload(encoded.parsed.payload);
    std::vector<uint8_t> out(raw.size());
    for (size_t length = 0; length < payload.size(); length += 7) {
      EXPECT_STATUS_CODE(StatusCode::kCorruption,
                         DecodeChunk(encoded.parsed.codec, payload.substr(0, length), out));
    }
    size_t refused = 0;
    for (size_t at = 0; at < payload.size(); at += 5) {
      std::string damaged = payload;
      damaged[at] = static_cast<char>(damaged[at] ^ 0x5a);
      const Status status = DecodeChunk(encoded.parsed.codec, damaged, out);
      if (!status.ok()) {
        EXPECT_EQ(status.code(), StatusCode::kCorruption);
        ++refused;
        continue;
      }
      EXPECT_NE(ChunkChecksum(encoded.name, out), *encoded.parsed.checksum) << "byte " << at;
    }
    EXPECT_GT(refused, 0u);
  }
}

TEST(CodecTest, BadPlaneTablesAreCorruption) {
  std::vector<uint8_t> out(4096);
  for (const std::string& payload :
       {std::string(), std::string("\x03", 1), std::string("\x04\x07\x00", 3),
        std::string("\x04\x00\xff\xff\xff\xff\x0f", 7), std::string(40, '\x04')}) {
    EXPECT_STATUS_CODE(StatusCode::kCorruption, DecodeChunk(CodecId::kBytePlanes, payload, out));
  }
}

TEST(CodecTest, TheChecksumIsBoundToTheChunkName) {
  const std::vector<uint8_t> raw = Compressible(4096);
  const Digest name = Sha256Of(std::span<const uint8_t>(raw));
  const Digest other = Sha256Of(std::string_view("another chunk"));
  EXPECT_EQ(ChunkChecksum(name, raw), ChunkChecksum(name, raw));
  EXPECT_NE(ChunkChecksum(name, raw), ChunkChecksum(other, raw));
}

TEST(CodecTest, UnknownCodecIdIsCorruption) {
  std::vector<uint8_t> out(4);
  EXPECT_STATUS_CODE(StatusCode::kCorruption, DecodeChunk(static_cast<CodecId>(7), "abcd", out));
}

// Stores written before checksums have values without the flag: they parse,
// and the reader falls back to the SHA-256 name (store_read.cc).
TEST(CodecTest, ValuesWithoutChecksumStillParse) {
  std::string legacy(1, static_cast<char>(CodecId::kRaw));
  PutVarint(legacy, 5);
  legacy += "hello";
  ASSERT_OK_AND_ASSIGN(ChunkValue parsed, ParseChunkValue(legacy));
  EXPECT_EQ(parsed.codec, CodecId::kRaw);
  EXPECT_EQ(parsed.raw_size, 5u);
  EXPECT_FALSE(parsed.checksum.has_value());
  EXPECT_EQ(parsed.payload, "hello");
  Encoded current = Encode(std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o'}, DType::kUnknown);
  EXPECT_TRUE(current.parsed.checksum.has_value());
  EXPECT_EQ(current.parsed.payload, "hello");
}

}  // namespace
}  // namespace re2po
