#include "store/formats/onnx.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>

#include "store/formats/onnx_tensor.h"
#include "store/formats/segments.h"
#include "tests/store/formats/parser_checks.h"
#include "tests/testutil/testutil.h"

namespace re2po::testing {
namespace {

namespace fs = std::filesystem;

Result<ParsedFile> ParseOnnxBytes(const std::vector<uint8_t>& bytes) {
  return ParseOnnx(ByteSpan(bytes));
}

// Python that builds a model with a tensor in every place the parser looks
// (raw_data, packed float_data and double_data, sparse values and indices,
// If subgraphs, a Constant attribute, a function, a training graph) and
// prints each tensor's expected name and numpy bytes as hex.
constexpr char kMakeModel[] = R"(
import sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
out = sys.argv[1]
rng = np.random.default_rng(0)
expected = {}
def keep(name, array):
    expected[name] = array.tobytes().hex()
    return array
def vinfo(name, n): return helper.make_tensor_value_info(name, TensorProto.FLOAT, [n])

w = keep('w_raw', rng.standard_normal((4, 3)).astype(np.float32))
f = keep('f_float_data', rng.standard_normal(5).astype(np.float32))
d = keep('d_double', rng.standard_normal(3))
q = keep('q_int8', rng.integers(-128, 127, size=10, dtype=np.int8))
sv = keep('sparse_w', np.array([1.5, 2.5, 3.5], dtype=np.float32))
si = keep('sparse_w/indices', np.array([0, 4, 7], dtype=np.int64))
then_c = keep('then_c', rng.standard_normal(2).astype(np.float32))
else_v = keep('else/const_node/value', rng.standard_normal(6).astype(np.float32))
fn_v = keep('fn_const', rng.standard_normal(4).astype(np.float32))
train = keep('train_init', rng.standard_normal(7).astype(np.float32))

then_g = helper.make_graph([helper.make_node('Identity', ['then_c'], ['out'])], 'then', [],
                           [vinfo('out', 2)], initializer=[numpy_helper.from_array(then_c, 'then_c')])
else_g = helper.make_graph([helper.make_node('Constant', [], ['out'], name='const_node',
                                             value=numpy_helper.from_array(else_v))],
                           'else', [], [vinfo('out', 6)])
initializers = [
    numpy_helper.from_array(w, 'w_raw'),
    helper.make_tensor('f_float_data', TensorProto.FLOAT, [5], f.tolist()),
    helper.make_tensor('d_double', TensorProto.DOUBLE, [3], d.tolist()),
    numpy_helper.from_array(q, 'q_int8'),
]
sparse = helper.make_sparse_tensor(numpy_helper.from_array(sv, 'sparse_w'),
                                   numpy_helper.from_array(si), [10])
graph = helper.make_graph([helper.make_node('If', ['cond'], ['y'], then_branch=then_g,
                                            else_branch=else_g)],
                          'main', [helper.make_tensor_value_info('cond', TensorProto.BOOL, [])],
                          [vinfo('y', 2)], initializer=initializers, sparse_initializer=[sparse])
fn = helper.make_function('custom', 'MyFn', ['x'], ['y'],
                          [helper.make_node('Constant', [], ['k'],
                                            value=numpy_helper.from_array(fn_v, 'fn_const')),
                           helper.make_node('Add', ['x', 'k'], ['y'])],
                          [helper.make_opsetid('', 17)])
model = helper.make_model(graph, functions=[fn])
info = onnx.TrainingInfoProto()
info.initialization.CopyFrom(helper.make_graph([], 'init', [], [],
                             initializer=[numpy_helper.from_array(train, 'train_init')]))
model.training_info.append(info)
assert model.graph.initializer[1].float_data and not model.graph.initializer[1].raw_data
onnx.save(model, out)
for name, hex_bytes in expected.items(): print(name, hex_bytes)
)";

std::map<std::string, std::string> ReadNameHexLines(const std::string& text) {
  std::map<std::string, std::string> lines;
  std::istringstream in(text);
  std::string name, hex;
  while (in >> name >> hex) lines[name] = hex;
  return lines;
}

TEST(OnnxTest, EveryTensorPlaceMatchesNumpyBytes) {
  if (!PythonHasModules({"onnx", "numpy"})) GTEST_SKIP() << "python3-onnx or numpy missing";
  TempDir dir;
  const fs::path model = dir.path() / "model.onnx";
  const CommandResult made = RunPython(dir, kMakeModel, ShellQuote(model.string()));
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const auto expected = ReadNameHexLines(made.out);
  ASSERT_EQ(expected.size(), 10u);

  const std::vector<uint8_t> bytes = ReadFileBytes(model);
  auto parsed = ParseOnnxBytes(bytes);
  ASSERT_OK(parsed.status());
  EXPECT_TRUE(parsed->companions.empty());
  ExpectSortedDisjointInBounds(parsed->segments, bytes.size());
  std::map<std::string, const Segment*> by_name;
  for (const Segment& segment : parsed->segments) by_name[segment.name] = &segment;
  for (const auto& [name, hex] : expected) {
    ASSERT_TRUE(by_name.contains(name)) << name << " not found";
    EXPECT_EQ(SliceOf(bytes, *by_name[name]), FromHex(hex)) << name;
  }
  EXPECT_EQ(parsed->segments.size(), expected.size());
  EXPECT_EQ(by_name["w_raw"]->shape, (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(by_name["d_double"]->dtype, DType::kF64);
  EXPECT_EQ(by_name["q_int8"]->native_dtype, "INT8");
  EXPECT_EQ(by_name["sparse_w/indices"]->dtype, DType::kI64);
}

TEST(OnnxTest, ExternalDataSavedByOnnxMatchesNumpyBytes) {
  if (!PythonHasModules({"onnx", "numpy"})) GTEST_SKIP() << "python3-onnx or numpy missing";
  TempDir dir;
  const fs::path model = dir.path() / "ext.onnx";
  const CommandResult made = RunPython(dir, R"(
import sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
rng = np.random.default_rng(1)
inits = []
for i, shape in enumerate([(16, 8), (3,), (5, 5)]):
    a = rng.standard_normal(shape).astype(np.float32)
    inits.append(numpy_helper.from_array(a, 'ext_%d' % i))
    print('ext_%d' % i, a.tobytes().hex())
graph = helper.make_graph([], 'g', [], [], initializer=inits)
onnx.save_model(helper.make_model(graph), sys.argv[1], save_as_external_data=True,
                all_tensors_to_one_file=True, location='weights.bin',
                size_threshold=0)
)",
                                       ShellQuote(model.string()));
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const auto expected = ReadNameHexLines(made.out);
  auto parsed = ParseOnnxBytes(ReadFileBytes(model));
  ASSERT_OK(parsed.status());
  EXPECT_TRUE(parsed->segments.empty());
  ASSERT_EQ(parsed->companions.size(), 1u);
  const CompanionSegments& companion = parsed->companions[0];
  EXPECT_EQ(companion.relative_path, "weights.bin");
  ASSERT_EQ(companion.segments.size(), 3u);
  const std::vector<uint8_t> weights = ReadFileBytes(dir.path() / "weights.bin");
  ExpectSortedDisjointInBounds(companion.segments, weights.size());
  for (const Segment& segment : companion.segments) {
    EXPECT_EQ(SliceOf(weights, segment), FromHex(expected.at(segment.name))) << segment.name;
  }
}

// Every real ONNX fixture parses; in-file and external tensors are checked
// against the initializers as python3-onnx loads them (external data included).
class OnnxFixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxFixtureTest, InitializersMatchOnnxLoad) {
  REQUIRE_FIXTURE(path, "onnx/" + GetParam());
  const std::vector<uint8_t> bytes = ReadFileBytes(path);
  EXPECT_TRUE(SniffOnnx(path.filename().string(), {}));
  auto parsed = ParseOnnxBytes(bytes);
  ASSERT_OK(parsed.status());
  ExpectSortedDisjointInBounds(parsed->segments, bytes.size());
  if (!PythonHasModules({"onnx", "numpy"})) GTEST_SKIP() << "python3-onnx or numpy missing";
  TempDir dir;
  const CommandResult listed = RunPython(dir, R"(
import sys, onnx
from onnx import numpy_helper
for t in onnx.load(sys.argv[1]).graph.initializer:
    print(t.name, numpy_helper.to_array(t).tobytes().hex() or '-')
)",
                                         ShellQuote(path.string()));
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  std::map<std::string, std::vector<uint8_t>> actual;
  for (const Segment& segment : parsed->segments) actual[segment.name] = SliceOf(bytes, segment);
  for (const CompanionSegments& companion : parsed->companions) {
    const auto data = ReadFileBytes(path.parent_path() / companion.relative_path);
    ASSERT_FALSE(data.empty()) << companion.relative_path;
    for (Segment segment : companion.segments) {
      if (segment.length == kRestOfFile) segment.length = data.size() - segment.offset;
      ExpectSortedDisjointInBounds({segment}, data.size());
      actual[segment.name] = SliceOf(data, segment);
    }
  }
  for (const auto& [name, hex] : ReadNameHexLines(listed.out)) {
    if (hex == "-") continue;  // empty initializer: nothing to cut
    ASSERT_TRUE(actual.contains(name)) << name;
    EXPECT_EQ(actual[name], FromHex(hex)) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, OnnxFixtureTest,
    ::testing::Values("onnx_repo/light_densenet121.onnx", "onnx_repo/light_resnet50.onnx",
                      "onnx_repo/node_test_add.onnx", "onnx_repo/node_test_constant.onnx",
                      "onnx_repo/node_test_gemm_default_matrix_bias.onnx",
                      "onnx_repo/test_BatchNorm2d_eval.onnx", "onnx_repo/test_Conv2d.onnx",
                      "onnx_repo/test_Conv3d_groups.onnx", "onnx_repo/test_operator_conv.onnx",
                      "external_data_onnx_quickstart/simple_cnn.onnx",
                      "external_data_amdmigraphx/external_data_test.onnx",
                      "external_data_amdmigraphx/ext_path/external_data_test.onnx",
                      "external_data_amdmigraphx/external_constant_test.onnx"));

TEST(OnnxTest, LocationOnlyExternalDataRunsToEndOfFile) {
  REQUIRE_FIXTURE(path, "onnx/external_data_amdmigraphx/external_data_test.onnx");
  auto parsed = ParseOnnxBytes(ReadFileBytes(path));
  ASSERT_OK(parsed.status());
  ASSERT_EQ(parsed->companions.size(), 1u);
  EXPECT_EQ(parsed->companions[0].relative_path, "conv.weight");
  ASSERT_EQ(parsed->companions[0].segments.size(), 1u);
  const Segment& weight = parsed->companions[0].segments[0];
  EXPECT_EQ(weight.name, "conv.weight");
  EXPECT_EQ(weight.offset, 0u);
  EXPECT_EQ(weight.length, kRestOfFile);
  EXPECT_EQ(weight.shape, (std::vector<int64_t>{10, 1, 11, 11}));
  ASSERT_EQ(parsed->segments.size(), 1u);  // conv.bias is inline raw_data
  EXPECT_EQ(parsed->segments[0].name, "conv.bias");
}

TEST(OnnxTest, ExternalTensorInConstantAttribute) {
  REQUIRE_FIXTURE(path, "onnx/external_data_amdmigraphx/external_constant_test.onnx");
  auto parsed = ParseOnnxBytes(ReadFileBytes(path));
  ASSERT_OK(parsed.status());
  ASSERT_EQ(parsed->companions.size(), 1u);
  EXPECT_EQ(parsed->companions[0].relative_path, "external_constant_test.weight");
  ASSERT_EQ(parsed->companions[0].segments.size(), 1u);
}

TEST(OnnxTest, EveryTruncationFailsCleanly) {
  REQUIRE_FIXTURE(path, "onnx/onnx_repo/test_Conv2d.onnx");
  const std::vector<uint8_t> bytes = ReadFileBytes(path);
  size_t accepted = 0;
  for (size_t length = 0; length < bytes.size(); ++length) {
    auto parsed = ParseOnnx(ByteSpan(bytes.data(), length));
    if (parsed.ok()) {
      ++accepted;
      ExpectSortedDisjointInBounds(parsed->segments, length);
    }
  }
  EXPECT_LT(accepted, bytes.size());
}

// Hand-encoded protobuf for the malformed cases.
std::vector<uint8_t> Field(uint32_t number, const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> out;
  for (uint64_t v : {uint64_t{number} << 3 | 2, uint64_t{payload.size()}}) {
    while (v >= 0x80) out.push_back(static_cast<uint8_t>(v | 0x80)), v >>= 7;
    out.push_back(static_cast<uint8_t>(v));
  }
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}
std::vector<uint8_t> Concat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
std::vector<uint8_t> Text(const std::string& s) { return {s.begin(), s.end()}; }

// An initializer stored externally at `location` with the given offset/length.
std::vector<uint8_t> ExternalTensor(const std::string& name, const std::string& location,
                                    const std::string& offset, const std::string& length) {
  std::vector<uint8_t> tensor = Field(8, Text(name));
  tensor = Concat(tensor, Field(13, Concat(Field(1, Text("location")), Field(2, Text(location)))));
  tensor = Concat(tensor, Field(13, Concat(Field(1, Text("offset")), Field(2, Text(offset)))));
  tensor = Concat(tensor, Field(13, Concat(Field(1, Text("length")), Field(2, Text(length)))));
  return Concat(tensor, {14 << 3, 1});  // data_location = EXTERNAL
}

std::vector<uint8_t> ModelWithInitializers(const std::vector<std::vector<uint8_t>>& tensors) {
  std::vector<uint8_t> graph;
  for (const auto& tensor : tensors) graph = Concat(graph, Field(5, tensor));
  return Field(7, graph);
}

void ExpectOnnxRejected(const std::vector<uint8_t>& bytes, const std::string& message) {
  auto parsed = ParseOnnxBytes(bytes);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find(message), std::string::npos)
      << parsed.status().message();
}

TEST(OnnxTest, ExternalLocationsAreCheckedAndGrouped) {
  auto parsed = ParseOnnxBytes(ModelWithInitializers(
      {ExternalTensor("b", "./w.bin", "64", "16"), ExternalTensor("a", "w.bin", "0", "64"),
       ExternalTensor("c", "dir//x.bin", "7", "1")}));
  ASSERT_OK(parsed.status());
  ASSERT_EQ(parsed->companions.size(), 2u);
  EXPECT_EQ(parsed->companions[0].relative_path, "dir/x.bin");
  EXPECT_EQ(parsed->companions[0].segments[0].offset, 7u);
  EXPECT_EQ(parsed->companions[1].relative_path, "w.bin");
  ASSERT_EQ(parsed->companions[1].segments.size(), 2u);
  EXPECT_EQ(parsed->companions[1].segments[0].name, "a");

  ExpectOnnxRejected(ModelWithInitializers({ExternalTensor("a", "../w.bin", "0", "4")}),
                     "leaves the model's folder");
  ExpectOnnxRejected(ModelWithInitializers({ExternalTensor("a", "/etc/passwd", "0", "4")}),
                     "absolute");
  ExpectOnnxRejected(ModelWithInitializers({ExternalTensor("a", "w.bin", "0x10", "4")}),
                     "not a decimal");
  ExpectOnnxRejected(ModelWithInitializers({ExternalTensor("a", "w.bin", "0", "64"),
                                            ExternalTensor("b", "w.bin", "32", "64")}),
                     "overlaps");
  ExpectOnnxRejected(
      ModelWithInitializers({ExternalTensor("a", "w.bin", "18446744073709551615", "2")}),
      "overflows");
}

TEST(OnnxTest, RejectsDeepNestingAndGarbage) {
  // graph -> node -> attribute -> graph -> ... 100 times.
  std::vector<uint8_t> graph = Field(5, Field(9, {1, 2, 3, 4}));
  for (int i = 0; i < 100; ++i) graph = Field(1, Field(5, Field(6, graph)));
  ExpectOnnxRejected(Field(7, graph), "nested deeper");

  ExpectOnnxRejected(Text("not a protobuf at all, just text"), "protobuf");
  ExpectOnnxRejected({0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f}, "past end of message");
  ExpectOnnxRejected({0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
                     "varint");
  ExpectOnnxRejected(Field(2, Text("producer only")), "not an ONNX model");
}

TEST(OnnxTest, NormalizesLocations) {
  EXPECT_EQ(*NormalizeOnnxLocation("a/./b\\c"), "a/b/c");
  EXPECT_FALSE(NormalizeOnnxLocation("a/../../b").ok());
  EXPECT_FALSE(NormalizeOnnxLocation("C:\\w.bin").ok());
  EXPECT_FALSE(NormalizeOnnxLocation("./").ok());
  EXPECT_EQ(*NormalizeOnnxLocation("a..b"), "a..b");
}

}  // namespace
}  // namespace re2po::testing
