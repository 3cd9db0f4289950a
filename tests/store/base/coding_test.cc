// Varints, fixed-width integers and length-prefixed strings: round trips at
// the encoding boundaries, exact byte layouts, and truncation rejected.
#include "store/base/coding.h"

#include <limits>
#include <string>
#include <vector>

#include "tests/testutil/status_testutil.h"

namespace re2po {
namespace {

constexpr uint64_t kMax64 = std::numeric_limits<uint64_t>::max();

class CodingTest : public ::testing::Test {
 protected:
  // Every value on either side of a 7-bit group boundary, plus the extremes.
  static std::vector<uint64_t> VarintBoundaries() {
    std::vector<uint64_t> values = {0, 1, kMax64};
    for (int bits = 7; bits < 64; bits += 7) {
      uint64_t edge = uint64_t{1} << bits;
      values.push_back(edge - 1);
      values.push_back(edge);
      values.push_back(edge + 1);
    }
    values.push_back(uint64_t{1} << 63);
    values.push_back(std::numeric_limits<uint32_t>::max());
    return values;
  }

  static size_t ExpectedVarintLength(uint64_t value) {
    size_t length = 1;
    while (value >= 0x80) {
      value >>= 7;
      ++length;
    }
    return length;
  }
};

TEST_F(CodingTest, VarintRoundTripsAtEveryGroupBoundary) {
  for (uint64_t value : VarintBoundaries()) {
    std::string encoded;
    PutVarint(encoded, value);
    EXPECT_EQ(encoded.size(), ExpectedVarintLength(value)) << value;
    Decoder decoder(encoded, "test");
    uint64_t decoded = 12345;
    ASSERT_OK(decoder.GetVarint(decoded));
    EXPECT_EQ(decoded, value);
    EXPECT_TRUE(decoder.done());
  }
}

TEST_F(CodingTest, VarintByteLayoutIsLeb128) {
  std::string encoded;
  PutVarint(encoded, 300);
  EXPECT_EQ(encoded, std::string("\xac\x02", 2));
  encoded.clear();
  PutVarint(encoded, kMax64);
  EXPECT_EQ(encoded, std::string(9, '\xff') + std::string("\x01", 1));
}

TEST_F(CodingTest, ConsecutiveVarintsDecodeInOrder) {
  std::string encoded;
  std::vector<uint64_t> values = VarintBoundaries();
  for (uint64_t value : values) PutVarint(encoded, value);
  Decoder decoder(encoded, "test");
  for (uint64_t value : values) {
    uint64_t decoded = 0;
    ASSERT_OK(decoder.GetVarint(decoded));
    EXPECT_EQ(decoded, value);
  }
  EXPECT_TRUE(decoder.done());
}

TEST_F(CodingTest, TruncatedVarintIsCorruption) {
  for (uint64_t value : VarintBoundaries()) {
    std::string encoded;
    PutVarint(encoded, value);
    for (size_t cut = 0; cut < encoded.size(); ++cut) {
      Decoder decoder(std::string_view(encoded).substr(0, cut), "test");
      uint64_t decoded = 0;
      EXPECT_STATUS_CODE(StatusCode::kCorruption, decoder.GetVarint(decoded))
          << value << " cut at " << cut;
    }
  }
}

TEST_F(CodingTest, OverlongVarintIsCorruption) {
  // Eleven continuation bytes: no uint64_t needs more than ten.
  std::string encoded(11, '\x80');
  encoded.push_back('\x01');
  Decoder decoder(encoded, "test");
  uint64_t decoded = 0;
  EXPECT_STATUS_CODE(StatusCode::kCorruption, decoder.GetVarint(decoded));
}

TEST_F(CodingTest, Fixed32IsLittleEndianAndRoundTrips) {
  std::string encoded;
  PutFixed32(encoded, 0x01020304);
  EXPECT_EQ(encoded, std::string("\x04\x03\x02\x01", 4));
  for (uint32_t value : {0u, 1u, 0x7fu, 0x80u, 0xffu, 0x100u, 0x7fffffffu, 0x80000000u,
                         std::numeric_limits<uint32_t>::max()}) {
    std::string bytes;
    PutFixed32(bytes, value);
    ASSERT_EQ(bytes.size(), 4u);
    Decoder decoder(bytes, "test");
    uint32_t decoded = 7;
    ASSERT_OK(decoder.GetFixed32(decoded));
    EXPECT_EQ(decoded, value);
    EXPECT_TRUE(decoder.done());
  }
}

TEST_F(CodingTest, Fixed64IsLittleEndianAndRoundTrips) {
  std::string encoded;
  PutFixed64(encoded, 0x0102030405060708ULL);
  EXPECT_EQ(encoded, std::string("\x08\x07\x06\x05\x04\x03\x02\x01", 8));
  for (uint64_t value : VarintBoundaries()) {
    std::string bytes;
    PutFixed64(bytes, value);
    ASSERT_EQ(bytes.size(), 8u);
    Decoder decoder(bytes, "test");
    uint64_t decoded = 7;
    ASSERT_OK(decoder.GetFixed64(decoded));
    EXPECT_EQ(decoded, value);
  }
}

TEST_F(CodingTest, BigEndian64SortsNumerically) {
  std::string encoded;
  PutBigEndian64(encoded, 0x0102030405060708ULL);
  EXPECT_EQ(encoded, std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  std::vector<uint64_t> values = VarintBoundaries();
  for (uint64_t value : values) {
    std::string bytes;
    PutBigEndian64(bytes, value);
    EXPECT_EQ(DecodeBigEndian64(bytes.data()), value);
  }
  for (uint64_t a : values) {
    for (uint64_t b : values) {
      std::string ea, eb;
      PutBigEndian64(ea, a);
      PutBigEndian64(eb, b);
      EXPECT_EQ(a < b, ea < eb) << a << " vs " << b;
    }
  }
}

TEST_F(CodingTest, TruncatedFixedIsCorruption) {
  std::string bytes;
  PutFixed64(bytes, kMax64);
  for (size_t cut = 0; cut < 8; ++cut) {
    Decoder decoder(std::string_view(bytes).substr(0, cut), "test");
    uint64_t value64 = 0;
    EXPECT_STATUS_CODE(StatusCode::kCorruption, decoder.GetFixed64(value64)) << cut;
  }
  for (size_t cut = 0; cut < 4; ++cut) {
    Decoder decoder(std::string_view(bytes).substr(0, cut), "test");
    uint32_t value32 = 0;
    EXPECT_STATUS_CODE(StatusCode::kCorruption, decoder.GetFixed32(value32)) << cut;
  }
}

TEST_F(CodingTest, LengthPrefixedRoundTripsEmptyBinaryAndLongStrings) {
  std::vector<std::string> texts = {"", std::string("\0\xff\x80", 3), std::string(127, 'a'),
                                    std::string(128, 'b'), std::string(70000, 'c')};
  std::string encoded;
  for (const std::string& text : texts) PutLengthPrefixed(encoded, text);
  Decoder decoder(encoded, "test");
  for (const std::string& text : texts) {
    std::string decoded = "junk";
    ASSERT_OK(decoder.GetString(decoded));
    EXPECT_EQ(decoded, text);
  }
  EXPECT_TRUE(decoder.done());
}

TEST_F(CodingTest, LengthPrefixedViewPointsIntoTheInput) {
  std::string encoded;
  PutLengthPrefixed(encoded, "hello");
  PutVarint(encoded, 9);
  Decoder decoder(encoded, "test");
  std::string_view view;
  ASSERT_OK(decoder.GetLengthPrefixed(view));
  EXPECT_EQ(view, "hello");
  EXPECT_EQ(view.data(), encoded.data() + 1);
  EXPECT_EQ(decoder.remaining(), 1u);
}

TEST_F(CodingTest, TruncatedLengthPrefixedIsCorruptionAtEveryCut) {
  std::string encoded;
  PutLengthPrefixed(encoded, std::string(200, 'x'));  // two-byte length
  for (size_t cut = 0; cut < encoded.size(); ++cut) {
    Decoder decoder(std::string_view(encoded).substr(0, cut), "test");
    std::string value;
    EXPECT_STATUS_CODE(StatusCode::kCorruption, decoder.GetString(value)) << cut;
  }
}

TEST_F(CodingTest, HugeLengthPrefixIsCorruptionNotAnAllocation) {
  std::string encoded;
  PutVarint(encoded, kMax64);
  encoded += "abc";
  Decoder decoder(encoded, "test");
  std::string value;
  EXPECT_STATUS_CODE(StatusCode::kCorruption, decoder.GetString(value));
}

TEST_F(CodingTest, GetBytesAndGetByteRespectTheEnd) {
  std::string input = "abc";
  Decoder decoder(input, "test");
  std::string_view bytes;
  EXPECT_STATUS_CODE(StatusCode::kCorruption, decoder.GetBytes(4, bytes));
  ASSERT_OK(decoder.GetBytes(2, bytes));
  EXPECT_EQ(bytes, "ab");
  uint8_t byte = 0;
  ASSERT_OK(decoder.GetByte(byte));
  EXPECT_EQ(byte, 'c');
  EXPECT_TRUE(decoder.done());
  EXPECT_STATUS_CODE(StatusCode::kCorruption, decoder.GetByte(byte));
  ASSERT_OK(decoder.GetBytes(0, bytes));
  EXPECT_TRUE(bytes.empty());
}

TEST_F(CodingTest, ErrorMessageNamesTheRecord) {
  Decoder decoder("", "chunk info");
  uint64_t value = 0;
  Status status = decoder.GetVarint(value);
  ASSERT_TRUE(status.IsCorruption());
  EXPECT_NE(status.message().find("chunk info"), std::string::npos) << status.message();
}

}  // namespace
}  // namespace re2po
