#include "store/formats/gguf.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tests/store/formats/parser_checks.h"
#include "tests/testutil/testutil.h"

namespace re2po::testing {
namespace {

// GGUF value type ids (ggml docs/gguf.md).
enum : uint32_t {
  kU8 = 0,
  kI16 = 3,
  kU32 = 4,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10
};
// ggml type ids.
enum : uint32_t {
  kTypeF32 = 0,
  kTypeF16 = 1,
  kTypeQ4_0 = 2,
  kTypeQ8_0 = 8,
  kTypeQ4_K = 12,
  kTypeQ6_K = 14
};

struct TestTensor {
  std::string name;
  std::vector<uint64_t> dims;  // ggml order
  uint32_t type;
  uint64_t bytes;  // expected size, written as random data
};

// Writes GGUF files from the specification, independent of the parser.
class GgufWriter {
 public:
  explicit GgufWriter(uint32_t version) { Raw("GGUF"), Put<uint32_t>(version); }

  template <typename T>
  GgufWriter& Put(T value) {
    const auto* at = reinterpret_cast<const uint8_t*>(&value);
    out_.insert(out_.end(), at, at + sizeof(T));
    return *this;
  }
  GgufWriter& Raw(const std::string& text) {
    out_.insert(out_.end(), text.begin(), text.end());
    return *this;
  }
  GgufWriter& String(const std::string& text) { return Put<uint64_t>(text.size()).Raw(text); }
  std::vector<uint8_t>& bytes() { return out_; }

  // A whole file: metadata written by `write_kvs`, tensors laid out in order.
  template <typename WriteKvs>
  static std::vector<uint8_t> File(uint32_t version, uint32_t alignment, uint64_t kv_count,
                                   WriteKvs write_kvs, const std::vector<TestTensor>& tensors) {
    GgufWriter w(version);
    w.Put<uint64_t>(tensors.size()).Put<uint64_t>(kv_count);
    write_kvs(w);
    uint64_t offset = 0;
    for (const TestTensor& t : tensors) {
      w.String(t.name).Put<uint32_t>(t.dims.size());
      for (uint64_t dim : t.dims) w.Put<uint64_t>(dim);
      w.Put<uint32_t>(t.type).Put<uint64_t>(offset);
      offset += (t.bytes + alignment - 1) / alignment * alignment;
    }
    w.out_.resize((w.out_.size() + alignment - 1) / alignment * alignment, 0);
    for (size_t i = 0; i < tensors.size(); ++i) {
      std::vector<uint8_t> data = RandomBytes(tensors[i].bytes, i);
      data.resize((data.size() + alignment - 1) / alignment * alignment, 0);
      w.out_.insert(w.out_.end(), data.begin(), data.end());
    }
    return w.out_;
  }

 private:
  std::vector<uint8_t> out_;
};

// Every value type, including an array of arrays of strings.
void WriteAllValueTypes(GgufWriter& w, uint32_t alignment) {
  w.String("general.architecture").Put<uint32_t>(kString).String("llama");
  w.String("test.u8").Put<uint32_t>(kU8).Put<uint8_t>(7);
  w.String("test.i16").Put<uint32_t>(kI16).Put<int16_t>(-7);
  w.String("test.f32").Put<uint32_t>(kF32).Put<float>(1.5f);
  w.String("test.bool").Put<uint32_t>(kBool).Put<uint8_t>(1);
  w.String("test.u64").Put<uint32_t>(kU64).Put<uint64_t>(1ull << 40);
  w.String("general.alignment").Put<uint32_t>(kU32).Put<uint32_t>(alignment);
  w.String("tokenizer.scores").Put<uint32_t>(kArray).Put<uint32_t>(kF32).Put<uint64_t>(3);
  for (float f : {0.5f, 1.5f, 2.5f}) w.Put<float>(f);
  w.String("test.nested").Put<uint32_t>(kArray).Put<uint32_t>(kArray).Put<uint64_t>(2);
  for (int i = 0; i < 2; ++i) {
    w.Put<uint32_t>(kString).Put<uint64_t>(2).String("tok").String("en");
  }
}
constexpr uint64_t kAllValueTypesCount = 9;

const std::vector<TestTensor> kMixedTensors = {
    {"token_embd.weight", {64, 3}, kTypeF32, 64 * 3 * 4},
    {"blk.0.attn_norm.weight", {64}, kTypeF16, 64 * 2},
    {"blk.0.attn_q.weight", {64, 2}, kTypeQ4_0, 2 * 2 * 18},
    {"blk.0.attn_k.weight", {96, 1}, kTypeQ8_0, 3 * 34},
    {"blk.0.ffn_up.weight", {512, 2}, kTypeQ4_K, 2 * 2 * 144},
    {"output.weight", {256, 3, 1}, kTypeQ6_K, 3 * 210},
};

void ExpectSegmentsMatch(const std::vector<uint8_t>& bytes, uint32_t alignment) {
  auto parsed = ParseGguf(ByteSpan(bytes));
  ASSERT_OK(parsed.status());
  EXPECT_EQ(parsed->format, "gguf");
  ASSERT_EQ(parsed->segments.size(), kMixedTensors.size());
  ExpectSortedDisjointInBounds(parsed->segments, bytes.size());
  // The data section ends the file; walk the tensors backwards from there.
  uint64_t data_size = 0;
  for (const TestTensor& t : kMixedTensors) {
    data_size += (t.bytes + alignment - 1) / alignment * alignment;
  }
  uint64_t offset = bytes.size() - data_size;
  EXPECT_EQ(offset % alignment, 0u);
  for (size_t i = 0; i < kMixedTensors.size(); ++i) {
    const Segment& segment = parsed->segments[i];
    EXPECT_EQ(segment.name, kMixedTensors[i].name);
    EXPECT_EQ(segment.offset, offset) << segment.name;
    EXPECT_EQ(segment.length, kMixedTensors[i].bytes) << segment.name;
    EXPECT_EQ(SliceOf(bytes, segment), RandomBytes(kMixedTensors[i].bytes, i)) << segment.name;
    offset += (kMixedTensors[i].bytes + alignment - 1) / alignment * alignment;
  }
  EXPECT_EQ(parsed->segments[0].dtype, DType::kF32);
  EXPECT_EQ(parsed->segments[0].shape, (std::vector<int64_t>{3, 64}));  // outermost first
  EXPECT_EQ(parsed->segments[1].native_dtype, "F16");
  EXPECT_EQ(parsed->segments[4].native_dtype, "Q4_K");
  EXPECT_EQ(parsed->segments[4].dtype, DType::kQuantized);
  EXPECT_EQ(parsed->segments[5].shape, (std::vector<int64_t>{1, 3, 256}));
}

TEST(GgufTest, Version3WithCustomAlignmentAndEveryValueType) {
  const auto bytes = GgufWriter::File(
      3, 64, kAllValueTypesCount, [](GgufWriter& w) { WriteAllValueTypes(w, 64); }, kMixedTensors);
  ExpectSegmentsMatch(bytes, 64);
  EXPECT_TRUE(SniffGguf("m.gguf", ByteSpan(bytes).first(64)));
}

TEST(GgufTest, Version2WithDefaultAlignment) {
  const auto bytes = GgufWriter::File(
      2, 32, 1, [](GgufWriter& w) { w.String("general.name").Put<uint32_t>(kString).String("t"); },
      kMixedTensors);
  ExpectSegmentsMatch(bytes, 32);
}

// Bits per weight that ggml documents for each quantized type.
TEST(GgufTest, TypeTableMatchesDocumentedBitsPerWeight) {
  const std::vector<std::pair<std::string, double>> documented = {
      {"Q4_0", 4.5},      {"Q8_0", 8.5},     {"Q2_K", 2.625},     {"Q3_K", 3.4375},
      {"Q4_K", 4.5},      {"Q5_K", 5.5},     {"Q6_K", 6.5625},    {"IQ2_XXS", 2.0625},
      {"IQ2_XS", 2.3125}, {"IQ2_S", 2.5625}, {"IQ3_XXS", 3.0625}, {"IQ3_S", 3.4375},
      {"IQ1_S", 1.5625},  {"IQ1_M", 1.75},   {"IQ4_NL", 4.5},     {"IQ4_XS", 4.25},
      {"TQ1_0", 1.6875},  {"TQ2_0", 2.0625}, {"MXFP4", 4.25},     {"BF16", 16},
      {"F64", 64},        {"I8", 8}};
  size_t found = 0;
  for (uint32_t id = 0; id < 64; ++id) {
    const auto type = FindGgmlType(id);
    if (!type) continue;
    for (const auto& [name, bits] : documented) {
      if (type->name != name) continue;
      ++found;
      EXPECT_DOUBLE_EQ(8.0 * type->block_bytes / type->block_elements, bits) << name;
    }
  }
  EXPECT_EQ(found, documented.size());
  EXPECT_FALSE(FindGgmlType(4).has_value());  // Q4_2, removed from ggml
}

std::vector<uint8_t> SmallFile() {
  return GgufWriter::File(3, 32, kAllValueTypesCount,
                          [](GgufWriter& w) { WriteAllValueTypes(w, 32); },
                          {kMixedTensors[0], kMixedTensors[2]});
}

TEST(GgufTest, EveryTruncationFailsCleanly) {
  ExpectEveryPrefixSafe([](ByteSpan bytes) { return ParseGguf(bytes); }, SmallFile());
}

Status ParseStatus(const std::vector<uint8_t>& bytes) {
  return ParseGguf(ByteSpan(bytes)).status();
}

void ExpectRejected(const std::vector<uint8_t>& bytes, const std::string& message) {
  const Status status = ParseStatus(bytes);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find(message), std::string::npos) << status.message();
}

TEST(GgufTest, RejectsVersion1AndBadMagic) {
  std::vector<uint8_t> bytes = SmallFile();
  bytes[4] = 1;
  ExpectRejected(bytes, "version 1");
  bytes = SmallFile();
  bytes[0] = 'X';
  ExpectRejected(bytes, "bad magic");
}

TEST(GgufTest, RejectsAbsurdCounts) {
  std::vector<uint8_t> bytes = SmallFile();
  const uint64_t absurd = 1ull << 60;
  std::memcpy(bytes.data() + 8, &absurd, 8);  // tensor_count
  ExpectRejected(bytes, "absurd tensor count");
  bytes = SmallFile();
  std::memcpy(bytes.data() + 16, &absurd, 8);  // metadata_kv_count
  ExpectRejected(bytes, "absurd metadata count");
  GgufWriter w(3);
  w.Put<uint64_t>(0).Put<uint64_t>(1).String("huge").Put<uint32_t>(kArray);
  w.Put<uint32_t>(kU64).Put<uint64_t>(1ull << 62);
  ExpectRejected(w.bytes(), "runs past end of file");
}

TEST(GgufTest, RejectsTensorPastEndOfFile) {
  std::vector<uint8_t> bytes = SmallFile();
  bytes.resize(bytes.size() - 40);  // cut into the last tensor's data
  ExpectRejected(bytes, "past end of file");
}

TEST(GgufTest, RejectsOverlappingTensors) {
  const auto write_none = [](GgufWriter&) {};
  auto bytes = GgufWriter::File(3, 32, 0, write_none,
                                {{"a", {64}, kTypeF32, 256}, {"b", {64}, kTypeF32, 256}});
  // Point b's offset (the last 8 bytes of the tensor infos) at a's data.
  const size_t b_offset_at = 4 + 4 + 8 + 8 + (8 + 1 + 4 + 8 + 4 + 8) + (8 + 1 + 4 + 8 + 4);
  const uint64_t overlap = 32;
  std::memcpy(bytes.data() + b_offset_at, &overlap, 8);
  ExpectRejected(bytes, "overlaps");
}

TEST(GgufTest, RejectsBadTensorInfos) {
  const auto none = [](GgufWriter&) {};
  ExpectRejected(GgufWriter::File(3, 32, 0, none, {{"q", {48}, kTypeQ4_0, 18}}), "not a multiple");
  ExpectRejected(GgufWriter::File(3, 32, 0, none, {{"u", {4}, 4, 16}}), "unknown ggml type 4");
  ExpectRejected(GgufWriter::File(3, 32, 0, none, {{"d", {1, 1, 1, 1, 1}, kTypeF32, 4}}),
                 "5 dimensions");
  ExpectRejected(
      GgufWriter::File(3, 32, 0, none, {{"t", {8}, kTypeF32, 32}, {"t", {8}, kTypeF32, 32}}),
      "appears twice");
  ExpectRejected(GgufWriter::File(3, 32, 0, none, {{"o", {1ull << 62, 8}, kTypeF32, 0}}),
                 "overflows");
}

TEST(GgufTest, RejectsBadAlignment) {
  const auto alignment = [](uint32_t type, uint32_t value) {
    return [=](GgufWriter& w) {
      w.String("general.alignment").Put<uint32_t>(type).Put<uint32_t>(value);
    };
  };
  ExpectRejected(GgufWriter::File(3, 32, 1, alignment(kU32, 24), {}), "power of two");
  ExpectRejected(GgufWriter::File(3, 32, 1, alignment(kU32, 0), {}), "power of two");
  ExpectRejected(GgufWriter::File(3, 32, 1, alignment(kF32, 32), {}), "not u32");
}

TEST(GgufTest, RejectsUnalignedTensorOffset) {
  auto bytes = GgufWriter::File(3, 32, 0, [](GgufWriter&) {}, {{"a", {64}, kTypeF32, 256}});
  const size_t offset_at = 4 + 4 + 8 + 8 + 8 + 1 + 4 + 8 + 4;
  const uint64_t unaligned = 4;
  std::memcpy(bytes.data() + offset_at, &unaligned, 8);
  ExpectRejected(bytes, "not aligned");
}

}  // namespace
}  // namespace re2po::testing
