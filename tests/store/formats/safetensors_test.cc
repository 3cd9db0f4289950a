#include "store/formats/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <sstream>

#include "tests/store/formats/parser_checks.h"
#include "tests/testutil/testutil.h"

namespace re2po::testing {
namespace {

Result<ParsedFile> ParseSafetensorsBytes(const std::vector<uint8_t>& bytes) {
  return ParseSafetensors(ByteSpan(bytes));
}

// A safetensors file with the given JSON header (space-padded) and data.
std::vector<uint8_t> MakeFile(std::string header, const std::vector<uint8_t>& data) {
  while (header.size() % 8 != 0) header += ' ';
  // Reserved up front: GCC 12 warns (-Warray-bounds) on growing an 8-byte vector.
  std::vector<uint8_t> bytes;
  bytes.reserve(8 + header.size() + data.size());
  const uint64_t length = header.size();
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<uint8_t>(length >> (8 * i)));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

std::vector<uint8_t> TwoTensorFile() {
  return MakeFile(R"({"__metadata__":{"format":"pt"},)"
                  R"("b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                  R"("a":{"dtype":"F16","shape":[2,2],"data_offsets":[8,16]}})",
                  RandomBytes(16, 1));
}

TEST(SafetensorsTest, ParsesHandWrittenHeader) {
  const std::vector<uint8_t> bytes = TwoTensorFile();
  auto parsed = ParseSafetensorsBytes(bytes);
  ASSERT_OK(parsed.status());
  EXPECT_EQ(parsed->format, "safetensors");
  ASSERT_EQ(parsed->segments.size(), 2u);
  const uint64_t data_start = bytes.size() - 16;
  EXPECT_EQ(parsed->segments[0].name, "b");
  EXPECT_EQ(parsed->segments[0].offset, data_start);
  EXPECT_EQ(parsed->segments[0].dtype, DType::kF32);
  EXPECT_EQ(parsed->segments[1].name, "a");
  EXPECT_EQ(parsed->segments[1].offset, data_start + 8);
  EXPECT_EQ(parsed->segments[1].native_dtype, "F16");
  EXPECT_EQ(parsed->segments[1].shape, (std::vector<int64_t>{2, 2}));
  EXPECT_TRUE(SniffSafetensors("x.bin", ByteSpan(bytes).first(64)));
  EXPECT_TRUE(SniffSafetensors("model.safetensors", {}));
  EXPECT_FALSE(SniffSafetensors("x.bin", ByteSpan(bytes).first(8)));
}

// Real files written by candle and ollama: the segments must match the
// header as Python's json module reads it.
class SafetensorsFixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SafetensorsFixtureTest, SegmentsMatchHeaderReadByPython) {
  REQUIRE_FIXTURE(path, "safetensors/" + GetParam());
  const std::vector<uint8_t> bytes = ReadFileBytes(path);
  EXPECT_TRUE(SniffSafetensors(path.filename().string(), ByteSpan(bytes).first(64)));
  auto parsed = ParseSafetensorsBytes(bytes);
  ASSERT_OK(parsed.status());
  ExpectSortedDisjointInBounds(parsed->segments, bytes.size());

  TempDir dir;
  const CommandResult listed = RunPython(dir, R"(
import json, struct, sys
with open(sys.argv[1], 'rb') as f:
    n = struct.unpack('<Q', f.read(8))[0]
    header = json.loads(f.read(n))
for name, entry in header.items():
    if name == '__metadata__': continue
    b, e = entry['data_offsets']
    if e > b: print(name, 8 + n + b, e - b, entry['dtype'])
)",
                                         ShellQuote(path.string()));
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  std::map<std::string, Segment> by_name;
  for (const Segment& segment : parsed->segments) by_name[segment.name] = segment;
  std::istringstream lines(listed.out);
  std::string name, dtype;
  uint64_t offset = 0, length = 0;
  size_t count = 0;
  while (lines >> name >> offset >> length >> dtype) {
    ++count;
    ASSERT_TRUE(by_name.contains(name)) << name;
    EXPECT_EQ(by_name[name].offset, offset) << name;
    EXPECT_EQ(by_name[name].length, length) << name;
    EXPECT_EQ(by_name[name].native_dtype, dtype) << name;
  }
  EXPECT_EQ(count, parsed->segments.size());
  EXPECT_GT(count, 0u);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SafetensorsFixtureTest,
                         ::testing::Values("candle/jfk-codes.safetensors",
                                           "candle/mel_filters.safetensors",
                                           "candle/voices.safetensors",
                                           "ollama/discollama-adapters.safetensors",
                                           "ollama/minicpm3-4b-model.safetensors"));

// A file written at test time from torch tensors, data laid out in reverse
// key order; each tensor's bytes must equal torch's own bytes.
TEST(SafetensorsTest, TensorBytesMatchTorch) {
  if (!PythonHasModules({"torch"})) GTEST_SKIP() << "python3-torch is not installed";
  TempDir dir;
  const CommandResult written = RunPython(dir, R"(
import json, os, struct, sys, torch
out = sys.argv[1]
torch.manual_seed(0)
tensors = {
    'a.first': torch.randn(7).to(torch.float16),
    'b.bf16': torch.randn(2, 3).to(torch.bfloat16),
    'c.long': torch.arange(6, dtype=torch.int64).reshape(2, 3),
    'd.bool': torch.tensor([True, False, True]),
    'e.empty': torch.zeros(0, 4),
    'z.last': torch.randn(3, 5),
}
names = {torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16',
         torch.int64: 'I64', torch.bool: 'BOOL'}
def raw(t):
    return t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b''
header, data = {'__metadata__': {'format': 'pt'}}, b''
for name in reversed(sorted(tensors)):
    t = tensors[name]
    header[name] = {'dtype': names[t.dtype], 'shape': list(t.shape),
                    'data_offsets': [len(data), len(data) + len(raw(t))]}
    data += raw(t)
    with open(os.path.join(os.path.dirname(out), name + '.bin'), 'wb') as f:
        f.write(raw(t))
text = json.dumps(header).encode()
text += b' ' * (-len(text) % 8)
with open(out, 'wb') as f:
    f.write(struct.pack('<Q', len(text)) + text + data)
)",
                                          ShellQuote((dir.path() / "model.safetensors").string()));
  ASSERT_EQ(written.exit_code, 0) << written.err;
  const std::vector<uint8_t> bytes = ReadFileBytes(dir.path() / "model.safetensors");
  auto parsed = ParseSafetensorsBytes(bytes);
  ASSERT_OK(parsed.status());
  ASSERT_EQ(parsed->segments.size(), 5u);  // the empty tensor has no bytes to cut
  for (const Segment& segment : parsed->segments) {
    EXPECT_EQ(SliceOf(bytes, segment), ReadFileBytes(dir.path() / (segment.name + ".bin")))
        << segment.name;
  }
  EXPECT_EQ(parsed->segments.front().name, "z.last");  // sorted by offset, not by key
  EXPECT_EQ(parsed->segments.back().dtype, DType::kF16);
  EXPECT_EQ(parsed->segments[1].shape, (std::vector<int64_t>{3}));
}

TEST(SafetensorsTest, EveryTruncationFailsCleanly) {
  ExpectEveryPrefixSafe([](ByteSpan bytes) { return ParseSafetensors(bytes); }, TwoTensorFile());
}

struct BadHeader {
  std::string header;
  std::string message;  // part of the expected error
};

class SafetensorsMalformedTest : public ::testing::TestWithParam<BadHeader> {};

TEST_P(SafetensorsMalformedTest, IsRejectedWithReason) {
  auto parsed = ParseSafetensorsBytes(MakeFile(GetParam().header, RandomBytes(16, 2)));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kCorruption);
  EXPECT_NE(parsed.status().message().find(GetParam().message), std::string::npos)
      << parsed.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Headers, SafetensorsMalformedTest,
    ::testing::Values(
        BadHeader{R"({"x":{"dtype":"U8","shape":[32],"data_offsets":[0,32]}})", "past end of data"},
        BadHeader{R"({"x":{"dtype":"U8","shape":[4],"data_offsets":[8,4]}})", "past end of data"},
        BadHeader{R"({"x":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},)"
                  R"("y":{"dtype":"U8","shape":[8],"data_offsets":[4,12]}})",
                  "overlaps"},
        BadHeader{R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", "shape needs 12"},
        BadHeader{R"({"x":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})",
                  "overflows"},
        BadHeader{R"({"x":{"dtype":"F32","shape":[2]}})", "data_offsets"},
        BadHeader{R"({"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", "shape entry"},
        BadHeader{R"({"x":[1,2]})", "not a JSON object"},
        BadHeader{R"([1,2])", "not a JSON object"}, BadHeader{R"({"x":)", "not valid JSON"}));

TEST(SafetensorsTest, RejectsHeaderLengthPastEndOfFile) {
  std::vector<uint8_t> bytes = TwoTensorFile();
  const uint64_t absurd = ~uint64_t{0} - 4;
  std::memcpy(bytes.data(), &absurd, 8);
  auto parsed = ParseSafetensorsBytes(bytes);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("past end of file"), std::string::npos);
}

}  // namespace
}  // namespace re2po::testing
