// Chunk codecs: compressible bytes are stored with zstd and come back
// exactly; incompressible bytes stay raw; damaged payloads are Corruption.
#include "store/codec.h"

#include <vector>

#include "tests/store/store_testutil.h"

namespace re2po {
namespace {

class CodecTest : public ::testing::Test {
 protected:
  static std::vector<uint8_t> Compressible(size_t size) {
    std::vector<uint8_t> bytes(size);
    for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>((i / 64) % 7);
    return bytes;
  }
  static Status Decode(const EncodedChunk& encoded, std::vector<uint8_t>& out) {
    return DecodeChunk(encoded.codec, encoded.payload, out);
  }
};

TEST_F(CodecTest, CompressibleBytesUseZstdAndRoundTrip) {
  std::vector<uint8_t> raw = Compressible(1 << 20);
  EncodedChunk encoded = EncodeChunk(raw, DType::kUnknown, CodecOptions{});
  EXPECT_EQ(encoded.codec, CodecId::kZstd);
  EXPECT_LT(encoded.payload.size(), raw.size() / 10);
  std::vector<uint8_t> out(raw.size());
  ASSERT_OK(Decode(encoded, out));
  EXPECT_TRUE(out == raw);
}

TEST_F(CodecTest, RandomBytesStayRawAtAnyLevel) {
  std::vector<uint8_t> raw = testing::RandomBytes(100000, 9);
  for (int level : {1, 3, 19}) {
    EncodedChunk encoded = EncodeChunk(raw, DType::kUnknown, CodecOptions{level, 0.03});
    EXPECT_EQ(encoded.codec, CodecId::kRaw) << level;
    EXPECT_EQ(encoded.payload.size(), raw.size());
    std::vector<uint8_t> out(raw.size());
    ASSERT_OK(Decode(encoded, out));
    EXPECT_TRUE(out == raw);
  }
}

TEST_F(CodecTest, TinyAndEmptyChunksStayRaw) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{63}}) {
    std::vector<uint8_t> raw(size, 0);
    EncodedChunk encoded = EncodeChunk(raw, DType::kUnknown, CodecOptions{});
    EXPECT_EQ(encoded.codec, CodecId::kRaw) << size;
    std::vector<uint8_t> out(size);
    ASSERT_OK(Decode(encoded, out));
  }
}

TEST_F(CodecTest, WrongSizeIsCorruption) {
  std::vector<uint8_t> raw = Compressible(4096);
  EncodedChunk zstd = EncodeChunk(raw, DType::kUnknown, CodecOptions{});
  ASSERT_EQ(zstd.codec, CodecId::kZstd);
  std::vector<uint8_t> short_out(4095), long_out(4097);
  EXPECT_STATUS_CODE(StatusCode::kCorruption, Decode(zstd, short_out));
  EXPECT_STATUS_CODE(StatusCode::kCorruption, Decode(zstd, long_out));
  EncodedChunk raw_chunk{CodecId::kRaw, std::string(10, 'x')};
  std::vector<uint8_t> nine(9);
  EXPECT_STATUS_CODE(StatusCode::kCorruption, Decode(raw_chunk, nine));
}

TEST_F(CodecTest, DamagedZstdPayloadIsCorruption) {
  std::vector<uint8_t> raw = Compressible(1 << 16);
  EncodedChunk encoded = EncodeChunk(raw, DType::kUnknown, CodecOptions{});
  ASSERT_EQ(encoded.codec, CodecId::kZstd);
  std::vector<uint8_t> out(raw.size());
  EncodedChunk truncated = encoded;
  truncated.payload.resize(truncated.payload.size() / 2);
  EXPECT_STATUS_CODE(StatusCode::kCorruption, Decode(truncated, out));
  EncodedChunk garbage{CodecId::kZstd, std::string(100, '\x5a')};
  EXPECT_STATUS_CODE(StatusCode::kCorruption, Decode(garbage, out));
}

TEST_F(CodecTest, UnknownCodecIdIsCorruption) {
  std::vector<uint8_t> out(4);
  EXPECT_STATUS_CODE(StatusCode::kCorruption, DecodeChunk(static_cast<CodecId>(7), "abcd", out));
}

}  // namespace
}  // namespace re2po
