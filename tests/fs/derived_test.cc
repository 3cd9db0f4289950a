// Derived tensors (issue #18): copies of a stored model made by torch itself
// (fp16 and bf16 casts, int8 and uint8 quantizations, an fp32 upcast, an
// ONNX export with BatchNorm folded into the convolutions) are stored as a
// prediction from the stored tensors plus a residual, cost a few percent of
// their size, and read back byte-identical through export and the mount,
// NaN, infinities, -0.0 and subnormals included. A damaged base reads as
// EIO, never as wrong bytes. The models come from
// tests/python/make_cast_models.py (/usr/bin/python3), once per build tree.
#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/fs/mount_fixture.h"

namespace re2po::testing {
namespace {

class DerivedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GeneratedModels made = GenerateModelsOnce("make_cast_models.py", {"torch", "onnx", "h5py"});
    if (made.skip) GTEST_SKIP() << made.why_not;
    ASSERT_FALSE(made.dir.empty()) << made.why_not;
    models_ = made.dir;
  }
  const stdfs::path& models() const { return models_; }

  // `re2po show --json ARGS` of the store (its writer closed), or null
  // after a failure has been recorded.
  nlohmann::json ShowJson(const std::string& args) {
    CommandResult shown = RunCommand(ShellQuote(BuiltTool("re2po")) + " --store " +
                                     ShellQuote(store_.dir().string()) + " show --json " + args);
    EXPECT_EQ(shown.exit_code, 0) << shown.err;
    nlohmann::json described = nlohmann::json::parse(shown.out, nullptr, false);
    EXPECT_FALSE(described.is_discarded()) << shown.out;
    return described.is_discarded() ? nlohmann::json() : described;
  }

  TestStore store_;
  stdfs::path models_;
};

// The errno of the first failing read of `path` in 1 MiB reads, or 0.
int FirstReadError(const stdfs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return errno;
  std::vector<char> buffer(1 << 20);
  int error = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) error = errno;
    if (n <= 0) break;
  }
  ::close(fd);
  return error;
}

// Imports `kinds` (directories of models()) after `base`, each as model
// "copy-<kind>", checks that each is derived and costs less than `bound` of
// its size, then that every file reads back identical through a mount.
void ExpectCheapCopies(TestStore& store, const stdfs::path& models, const std::string& base,
                       const std::vector<std::string>& kinds, double bound) {
  const ImportSummary stored = store.Import("base", 1, models / base);
  EXPECT_EQ(stored.derived_chunks, 0u);
  for (const std::string& kind : kinds) {
    SCOPED_TRACE(kind);
    const ImportSummary copy = store.Import("copy-" + kind, 1, models / kind);
    EXPECT_GT(copy.derived_chunks, 2u);
    EXPECT_LT(static_cast<double>(copy.version.new_bytes),
              bound * static_cast<double>(copy.version.logical_bytes))
        << copy.version.new_bytes << " of " << copy.version.logical_bytes;
  }
  store.CloseWriter();
  TestMount mount(store.dir());
  START_MOUNT(mount);
  for (const std::string& kind : kinds) {
    for (const auto& file : stdfs::directory_iterator(models / kind)) {
      const std::string name = file.path().filename().string();
      EXPECT_EQ(Sha256Hex(mount.path("copy-" + kind + "/1/" + name)), Sha256Hex(file.path()))
          << kind << "/" << name;
    }
  }
  EXPECT_EQ(Sha256Hex(mount.path("base/1/model.pt")), Sha256Hex(models / base / "model.pt"));
}

// Issue #18's bound for casts: a copy costs < 3% of its raw size.
TEST_F(DerivedTest, HalfAndBfloat16CopiesCostAFewPercentAndReadBackIdentical) {
  REQUIRE_FUSE();
  ExpectCheapCopies(store_, models(), "fp32", {"fp16", "bf16"}, 0.03);
}

// Names tell nothing here: each tensor's fp32 base is found by its sign
// sketch, which the cast keeps (underflows to a signed zero included).
TEST_F(DerivedTest, ARenamedHalfCopyIsStoredAsCastsOfTheTensorsItsSignsMatch) {
  REQUIRE_FUSE();
  ExpectCheapCopies(store_, models(), "fp32", {"fp16-renamed"}, 0.03);
}

// An fp16 model of other weights under the same names is stored first:
// the fp16 copy then has a base of its own dtype by name too, and the first
// piece of each shows the cast is the better one.
TEST_F(DerivedTest, AHalfCopyPrefersItsFp32ModelToAnotherHalfModelOfTheSameNames) {
  store_.Import("net", 1, models() / "fp32");
  store_.Import("other", 1, models() / "other16");
  const ImportSummary copy = store_.Import("net-fp16", 1, models() / "fp16");
  EXPECT_GT(copy.derived_chunks, 2u);
  EXPECT_LT(static_cast<double>(copy.version.new_bytes),
            0.03 * static_cast<double>(copy.version.logical_bytes))
      << copy.version.new_bytes << " of " << copy.version.logical_bytes;
  // The provenance names only the base that was used.
  store_.CloseWriter();
  const nlohmann::json described = ShowJson("net-fp16@1");
  ASSERT_FALSE(described.is_null());
  EXPECT_EQ(described["provenance"]["delta_bases"], nlohmann::json::array({"net@1"}));
}

// Issue #18 asks < 50% for int8 copies; a scale fitted to the data makes
// the prediction exact but for the rare quotient next to a tie.
TEST_F(DerivedTest, QuantizedCopiesCostAFewPercentAndReadBackIdentical) {
  REQUIRE_FUSE();
  ExpectCheapCopies(store_, models(), "fp32", {"int8", "uint8"}, 0.03);
}

// torch.ao's dynamic quantization renames each Linear's weight
// ("0._packed_params._packed_params.0") and saves it as a QInt8Storage; its
// per_channel_dynamic_qconfig gives each output channel its own scale.
TEST_F(DerivedTest, TorchAoQuantizedCopiesPerTensorAndPerChannelCostAFewPercent) {
  ExpectCheapCopies(store_, models(), "linear32", {"ao-tensor", "ao-channel"}, 0.03);
  const nlohmann::json shown = ShowJson("--tensors copy-ao-channel@1");
  const std::string text = shown.dump();
  EXPECT_NE(text.find("quantized i8 per channel of base@1:0.weight"), std::string::npos) << text;
  EXPECT_EQ(ShowJson("--tensors copy-ao-tensor@1").dump().find("per channel"), std::string::npos);
}

// No sketch finds an int8 tensor: the name without "module." does.
TEST_F(DerivedTest, AQuantizedCopySavedByDataParallelFindsItsBaseWithoutThePrefix) {
  ExpectCheapCopies(store_, models(), "fp32", {"int8-ddp"}, 0.03);
}

TEST_F(DerivedTest, AnFp32CopyOfAnFp16ModelIsStoredAsItsExactUpcast) {
  REQUIRE_FUSE();
  ExpectCheapCopies(store_, models(), "half", {"up32"}, 0.01);
}

// Issue #18 asks < 40% for a BN-folded export: the folded weights have other
// names ("onnx::Conv_46"), so the base is found by its sign sketch.
TEST_F(DerivedTest, ABatchNormFoldedOnnxExportCostsAFewPercentAndLoads) {
  REQUIRE_FUSE();
  ExpectCheapCopies(store_, models(), "bn", {"bn-onnx"}, 0.03);
  if (HasFatalFailure()) return;
  if (!PythonHasModules({"onnx"})) GTEST_SKIP() << "/usr/bin/python3 lacks onnx";
  TestMount mount(store_.dir());
  START_MOUNT(mount);
  CommandResult checked = RunCommand(
      "/usr/bin/python3 -c 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]))' " +
      ShellQuote(mount.path("copy-bn-onnx/1/model.onnx").string()));
  EXPECT_EQ(checked.exit_code, 0) << checked.err;
}

// Issue #18 asks < 2% for permuted copies. The base is looked up by a
// sketch of its values that no permutation changes; conv3's square kernel
// with as many inputs as outputs fits its shape in several layouts.
TEST_F(DerivedTest, AKerasLayoutCopyWrittenWithH5pyIsStoredAsPermutations) {
  REQUIRE_FUSE();
  if (!PythonHasModules({"h5py"})) GTEST_SKIP() << "/usr/bin/python3 lacks h5py";
  ExpectCheapCopies(store_, models(), "convnet", {"keras"}, 0.02);
  // conv5 (2.25 MiB) is stored in three pieces; each permuted piece names
  // them all, so they outlive the version they came from.
  const std::string text = ShowJson("--tensors copy-keras@1").dump();
  EXPECT_NE(text.find("permuted 2,3,1,0 of base@1:conv5.weight"), std::string::npos) << text;
  const std::string tool =
      ShellQuote(BuiltTool("re2po")) + " --store " + ShellQuote(store_.dir().string()) + " ";
  ASSERT_EQ(RunCommand(tool + "rm base@1").exit_code, 0);
  ASSERT_EQ(RunCommand(tool + "gc").exit_code, 0);
  const stdfs::path out = store_.scratch() / "exported";
  const CommandResult exported =
      RunCommand(tool + "export copy-keras@1 " + ShellQuote(out.string()));
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_EQ(Sha256Hex(out / "model.h5"), Sha256Hex(models() / "keras" / "model.h5"));
  EXPECT_EQ(RunCommand(tool + "verify").exit_code, 0);
}

// `re2po show --tensors` names the derivation and the tensor it starts from.
TEST_F(DerivedTest, ShowSaysHowEachTensorIsStoredAndFromWhat) {
  store_.Import("net", 1, models() / "fp32");
  store_.Import("net-fp16", 1, models() / "fp16");
  store_.Import("net-int8", 1, models() / "int8");
  store_.CloseWriter();
  auto stored = [&](const std::string& version, const std::string& tensor) -> std::string {
    const nlohmann::json described = ShowJson("--tensors " + version);
    if (described.is_null()) return "no JSON";
    for (const auto& t : described["files"][0]["tensors"]) {
      if (t["name"] == tensor) return t["stored"].get<std::string>();
    }
    return "no tensor " + tensor;
  };
  EXPECT_EQ(stored("net@1", "classifier.weight"), "whole");
  EXPECT_EQ(stored("net-fp16@1", "classifier.weight"), "cast f16 of net@1:classifier.weight");
  EXPECT_EQ(stored("net-int8@1", "features.3.weight"), "quantized i8 of net@1:features.3.weight");
  EXPECT_EQ(stored("net-int8@1", "classifier.weight.scale"), "whole");
}

// `re2po diff --stored` names how b's changed tensors are stored; `re2po
// stats` adds up what each kind of chunk saved.
TEST_F(DerivedTest, DiffAndStatsSayHowTensorsAreStored) {
  store_.Import("net", 1, models() / "fp32");
  store_.Import("net", 2, models() / "fp16");
  store_.Import("net", 3, models() / "int8");
  store_.CloseWriter();
  const std::string tool =
      ShellQuote(BuiltTool("re2po")) + " --store " + ShellQuote(store_.dir().string());
  const CommandResult diff = RunCommand(tool + " diff --json --stored net@1 net@2");
  ASSERT_EQ(diff.exit_code, 0) << diff.err;
  const nlohmann::json changed = nlohmann::json::parse(diff.out, nullptr, false)["changed"];
  ASSERT_TRUE(changed.is_array()) << diff.out;
  std::map<std::string, std::string> how;
  for (const auto& item : changed) how[item["name"]] = item.value("stored", "(none)");
  EXPECT_EQ(how["model.pt:classifier.weight"], "cast f16 of net@1:classifier.weight") << diff.out;
  EXPECT_EQ(how["model.pt:features.0.weight"], "cast f16 of net@1:features.0.weight") << diff.out;
  const CommandResult plain = RunCommand(tool + " diff net@1 net@2");
  EXPECT_EQ(plain.out.find("cast f16"), std::string::npos) << "only --stored reads chunk values";

  const CommandResult stats = RunCommand(tool + " stats --json");
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  const nlohmann::json kinds = nlohmann::json::parse(stats.out, nullptr, false)["stored_as"];
  ASSERT_TRUE(kinds.is_object()) << stats.out;
  for (const char* kind : {"whole", "cast f16", "quantized i8"}) {
    SCOPED_TRACE(kind);
    ASSERT_TRUE(kinds.contains(kind)) << stats.out;
    EXPECT_GT(kinds[kind]["chunks"].get<uint64_t>(), 0u);
    EXPECT_EQ(
        kinds[kind]["saved_bytes"].get<uint64_t>(),
        kinds[kind]["raw_bytes"].get<uint64_t>() - kinds[kind]["stored_bytes"].get<uint64_t>());
  }
  // A cast costs a few percent of its raw bytes, a whole chunk far more.
  EXPECT_LT(kinds["cast f16"]["stored_bytes"].get<double>(),
            0.05 * kinds["cast f16"]["raw_bytes"].get<double>());
  EXPECT_GT(kinds["whole"]["stored_bytes"].get<double>(),
            0.5 * kinds["whole"]["raw_bytes"].get<double>());
  const CommandResult text = RunCommand(tool + " stats");
  EXPECT_NE(text.out.find("stored as:"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("quantized i8"), std::string::npos) << text.out;
}

TEST_F(DerivedTest, ExportsIdenticalAfterItsBaseVersionIsRemovedAndCollected) {
  store_.Import("net", 1, models() / "fp32");
  store_.Import("net-fp16", 1, models() / "fp16");
  store_.CloseWriter();
  const stdfs::path re2po = BuiltTool("re2po");
  const std::string at = " --store " + ShellQuote(store_.dir().string()) + " ";
  ASSERT_EQ(RunCommand(ShellQuote(re2po.string()) + at + "rm net@1").exit_code, 0);
  ASSERT_EQ(RunCommand(ShellQuote(re2po.string()) + at + "gc").exit_code, 0);
  const stdfs::path out = store_.scratch() / "exported";
  CommandResult exported =
      RunCommand(ShellQuote(re2po.string()) + at + "export net-fp16@1 " + ShellQuote(out.string()));
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_EQ(Sha256Hex(out / "model.pt"), Sha256Hex(models() / "fp16" / "model.pt"));
  EXPECT_EQ(RunCommand(ShellQuote(re2po.string()) + at + "verify").exit_code, 0);
}

TEST_F(DerivedTest, ADamagedBaseReadsAsEioNeverAsWrongBytes) {
  REQUIRE_FUSE();
  store_.Import("noise", 1, models() / "noise32");
  const ImportSummary copy = store_.Import("noise-fp16", 1, models() / "noise16");
  ASSERT_GT(copy.derived_chunks, 0u) << "the fp16 noise was not stored as a cast";
  store_.CloseWriter();
  // Random bit patterns do not compress: the fp32 base is stored raw.
  const std::vector<uint8_t> source = ReadFileBytes(models() / "noise32" / "noise.pt");
  ASSERT_GT(source.size(), 700'000u);
  const std::vector<uint8_t> needle(source.begin() + 600'000, source.begin() + 604'096);
  ASSERT_FALSE(FlipBytesWhereFound(store_.dir() / "db", needle).empty());

  TestMount mount(store_.dir());
  START_MOUNT(mount);
  EXPECT_EQ(FirstReadError(mount.path("noise-fp16/1/noise.pt")), EIO);
  EXPECT_EQ(FirstReadError(mount.path("noise/1/noise.pt")), EIO);
}

}  // namespace
}  // namespace re2po::testing
