#include "store/formats/tflite.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tests/store/formats/parser_checks.h"
#include "tests/testutil/testutil.h"

namespace re2po::testing {
namespace {

// Writes a flatbuffer front to back: every object is written after whoever
// points at it, and uoffsets are patched once the target's position is known.
class FlatWriter {
 public:
  using Field = std::pair<uint16_t, std::vector<uint8_t>>;  // (field index, inline bytes)

  template <typename T>
  static std::vector<uint8_t> Inline(T value) {
    std::vector<uint8_t> bytes(sizeof(T));
    std::memcpy(bytes.data(), &value, sizeof(T));
    return bytes;
  }
  static std::vector<uint8_t> OffsetSlot() { return Inline<uint32_t>(0); }

  template <typename T>
  size_t Put(T value) {
    const size_t at = out_.size();
    const auto bytes = Inline(value);
    out_.insert(out_.end(), bytes.begin(), bytes.end());
    return at;
  }
  void Align4() { out_.resize((out_.size() + 3) / 4 * 4, 0); }
  // Points the uoffset at `at` to `target` (which must lie after it).
  void Patch(size_t at, size_t target) {
    const auto value = static_cast<uint32_t>(target - at);
    std::memcpy(out_.data() + at, &value, 4);
  }
  // Writes a vtable and its table; returns the position of each field.
  std::vector<size_t> Table(const std::vector<Field>& fields, size_t* table_at) {
    Align4();
    uint16_t slots = 0, table_size = 4;
    for (const auto& [index, bytes] : fields) {
      slots = std::max<uint16_t>(slots, index + 1);
      table_size += bytes.size();
    }
    const size_t vtable = out_.size();
    Put<uint16_t>(4 + 2 * slots);
    Put<uint16_t>(table_size);
    std::vector<uint16_t> offsets(slots, 0);
    uint16_t next = 4;
    for (const auto& [index, bytes] : fields) offsets[index] = next, next += bytes.size();
    for (uint16_t offset : offsets) Put<uint16_t>(offset);
    Align4();
    *table_at = out_.size();
    Put<int32_t>(static_cast<int32_t>(*table_at - vtable));
    std::vector<size_t> positions;
    for (const auto& [index, bytes] : fields) {
      positions.push_back(out_.size());
      out_.insert(out_.end(), bytes.begin(), bytes.end());
    }
    return positions;
  }
  size_t Vector(uint32_t length, const std::vector<uint8_t>& elements) {
    Align4();
    const size_t at = Put<uint32_t>(length);
    out_.insert(out_.end(), elements.begin(), elements.end());
    return at;
  }
  std::vector<uint8_t>& bytes() { return out_; }

 private:
  std::vector<uint8_t> out_;
};

struct TinyModel {
  std::vector<uint8_t> bytes;
  size_t data_at = 0;             // buffer 1's data bytes
  size_t external_offset_at = 0;  // where buffer 2's u64 offset is stored
};

// One subgraph with one tensor "dense/kernel" (FLOAT32 [2,3]) reading buffer
// 1; buffer 0 is the empty sentinel; buffer 2 lives after the flatbuffer.
TinyModel MakeTinyModel() {
  FlatWriter w;
  TinyModel model;
  const size_t root = w.Put<uint32_t>(0);
  w.bytes().insert(w.bytes().end(), {'T', 'F', 'L', '3'});
  size_t table = 0;
  const auto model_fields = w.Table({{0, FlatWriter::Inline<uint32_t>(3)},
                                     {2, FlatWriter::OffsetSlot()},
                                     {4, FlatWriter::OffsetSlot()}},
                                    &table);
  w.Patch(root, table);
  const size_t subgraphs = w.Vector(1, FlatWriter::OffsetSlot());
  w.Patch(model_fields[1], subgraphs);
  const auto subgraph_fields = w.Table({{0, FlatWriter::OffsetSlot()}}, &table);
  w.Patch(subgraphs + 4, table);
  const size_t tensors = w.Vector(1, FlatWriter::OffsetSlot());
  w.Patch(subgraph_fields[0], tensors);
  const auto tensor_fields = w.Table({{0, FlatWriter::OffsetSlot()},
                                      {1, FlatWriter::Inline<int8_t>(0)},
                                      {2, FlatWriter::Inline<uint32_t>(1)},
                                      {3, FlatWriter::OffsetSlot()}},
                                     &table);
  w.Patch(tensors + 4, table);
  std::vector<uint8_t> dims = FlatWriter::Inline<int32_t>(2);
  for (uint8_t b : FlatWriter::Inline<int32_t>(3)) dims.push_back(b);
  w.Patch(tensor_fields[0], w.Vector(2, dims));
  w.Patch(tensor_fields[3],
          w.Vector(12, {'d', 'e', 'n', 's', 'e', '/', 'k', 'e', 'r', 'n', 'e', 'l', 0}));
  std::vector<uint8_t> slots(12, 0);
  const size_t buffers = w.Vector(3, slots);
  w.Patch(model_fields[2], buffers);
  w.Table({}, &table);
  w.Patch(buffers + 4, table);
  const auto data_field = w.Table({{0, FlatWriter::OffsetSlot()}}, &table);
  w.Patch(buffers + 8, table);
  const size_t data = w.Vector(24, RandomBytes(24, 7));
  w.Patch(data_field[0], data);
  model.data_at = data + 4;
  const auto external_fields = w.Table(
      {{1, FlatWriter::Inline<uint64_t>(0)}, {2, FlatWriter::Inline<uint64_t>(16)}}, &table);
  w.Patch(buffers + 12, table);
  model.external_offset_at = external_fields[0];
  // Data after the flatbuffer, as the converter writes it for models over 2 GB.
  w.Align4();
  const uint64_t external = w.bytes().size();
  std::memcpy(w.bytes().data() + external_fields[0], &external, 8);
  const auto tail = RandomBytes(16, 8);
  w.bytes().insert(w.bytes().end(), tail.begin(), tail.end());
  model.bytes = std::move(w.bytes());
  return model;
}

Result<ParsedFile> ParseTfliteBytes(const std::vector<uint8_t>& bytes) {
  return ParseTflite(ByteSpan(bytes));
}

TEST(TfliteTest, LabelsBuffersFromTensorsAndReadsExternalData) {
  const TinyModel model = MakeTinyModel();
  EXPECT_TRUE(SniffTflite("m.tflite", ByteSpan(model.bytes).first(8)));
  auto parsed = ParseTfliteBytes(model.bytes);
  ASSERT_OK(parsed.status());
  EXPECT_EQ(parsed->format, "tflite");
  ASSERT_EQ(parsed->segments.size(), 2u);  // buffer 0 is empty
  const Segment& kernel = parsed->segments[0];
  EXPECT_EQ(kernel.name, "dense/kernel");
  EXPECT_EQ(kernel.offset, model.data_at);
  EXPECT_EQ(SliceOf(model.bytes, kernel), RandomBytes(24, 7));
  EXPECT_EQ(kernel.dtype, DType::kF32);
  EXPECT_EQ(kernel.native_dtype, "FLOAT32");
  EXPECT_EQ(kernel.shape, (std::vector<int64_t>{2, 3}));
  const Segment& external = parsed->segments[1];
  EXPECT_EQ(external.name, "buffer/2");
  EXPECT_EQ(external.kind, SegmentKind::kTensor);
  EXPECT_EQ(SliceOf(model.bytes, external), RandomBytes(16, 8));
}

TEST(TfliteTest, EveryTruncationFailsCleanly) {
  ExpectEveryPrefixSafe([](ByteSpan bytes) { return ParseTflite(bytes); }, MakeTinyModel().bytes);
}

void ExpectTfliteRejected(const std::vector<uint8_t>& bytes, const std::string& message) {
  auto parsed = ParseTfliteBytes(bytes);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find(message), std::string::npos)
      << parsed.status().message();
}

TEST(TfliteTest, RejectsHostileBuffers) {
  TinyModel model = MakeTinyModel();
  uint64_t past_end = model.bytes.size() - 8;
  std::memcpy(model.bytes.data() + model.external_offset_at, &past_end, 8);
  ExpectTfliteRejected(model.bytes, "past end of file");

  model = MakeTinyModel();
  const uint64_t into_kernel = model.data_at + 8;
  std::memcpy(model.bytes.data() + model.external_offset_at, &into_kernel, 8);
  ExpectTfliteRejected(model.bytes, "overlaps");

  model = MakeTinyModel();
  model.bytes[4] = 'X';
  ExpectTfliteRejected(model.bytes, "TFL3");

  model = MakeTinyModel();
  const uint32_t wild_root = 0xfffffff0;
  std::memcpy(model.bytes.data(), &wild_root, 4);
  ExpectTfliteRejected(model.bytes, "past end of file");

  model = MakeTinyModel();
  const uint32_t huge_length = 0x7fffffff;
  std::memcpy(model.bytes.data() + model.data_at - 4, &huge_length, 4);
  ExpectTfliteRejected(model.bytes, "vector of 2147483647");
}

uint64_t ElementSize(DType dtype) {
  switch (dtype) {
    case DType::kF32:
    case DType::kI32:
      return 4;
    case DType::kF16:
    case DType::kI16:
      return 2;
    case DType::kI8:
    case DType::kU8:
    case DType::kBool:
      return 1;
    case DType::kI64:
    case DType::kF64:
      return 8;
    default:
      return 0;
  }
}

// Real converter output: each labelled buffer's size must equal its tensor's
// shape times element size, which only holds if labels land on the right buffers.
class TfliteFixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TfliteFixtureTest, BuffersMatchTheirTensors) {
  REQUIRE_FIXTURE(path, GetParam());
  const std::vector<uint8_t> bytes = ReadFileBytes(path);
  EXPECT_TRUE(SniffTflite(path.filename().string(), ByteSpan(bytes).first(64)));
  auto parsed = ParseTfliteBytes(bytes);
  ASSERT_OK(parsed.status());
  ExpectSortedDisjointInBounds(parsed->segments, bytes.size());
  size_t checked = 0;
  for (const Segment& segment : parsed->segments) {
    const uint64_t element = ElementSize(segment.dtype);
    if (segment.kind != SegmentKind::kTensor || element == 0) continue;
    uint64_t expected = element;
    for (int64_t dim : segment.shape) expected *= static_cast<uint64_t>(dim);
    EXPECT_EQ(segment.length, expected) << segment.name;
    ++checked;
  }
  EXPECT_GT(checked, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, TfliteFixtureTest,
    ::testing::Values("tflite/tflite_micro/hello_world_float.tflite",
                      "tflite/tflite_micro/hello_world_int8.tflite",
                      "tflite/tflite_micro/keyword_scrambled.tflite",
                      "tflite/tflite_micro/keyword_scrambled_8bit.tflite",
                      "tflite/tflite_micro/mobilenet_v2_quantized_1x3x224x224.tflite",
                      "tflite/tflite_micro/person_detect.tflite",
                      "tflite/tflite_micro/person_detect_vela.tflite",
                      "tflite/tflite_micro/trained_lstm.tflite",
                      "tflite/tflite_micro/trained_lstm_int8.tflite",
                      "tf_serving/parse_example_tflite/00000123/model.tflite"));

TEST(TfliteTest, FixturePrefixesFailCleanly) {
  REQUIRE_FIXTURE(path, "tflite/tflite_micro/hello_world_float.tflite");
  ExpectEveryPrefixSafe([](ByteSpan bytes) { return ParseTflite(bytes); }, ReadFileBytes(path));
}

}  // namespace
}  // namespace re2po::testing
