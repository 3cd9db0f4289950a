// Issue #4's proofs: tensor-aware chunking stores each distinct tensor once,
// whatever file, name, order or format it arrives in. Models are generated
// at test time by tools/bench/gen-models with Debian's python3-torch.
#include <set>

#include "tests/cli/cli_fixture.h"

namespace re2po::testing {
namespace {
namespace fs = std::filesystem;

class DedupTest : public CliTest {
 protected:
  void SetUp() override {
    if (!PythonHasModules({"torch", "torchvision", "onnx", "h5py", "numpy"})) {
      GTEST_SKIP() << "/usr/bin/python3 lacks torch/torchvision/onnx/h5py/numpy "
                      "(tools/setup-deps.sh installs them)";
    }
    CliTest::SetUp();
  }

  nlohmann::json Generate(const std::string& scenario) {
    fs::path out = Dir(scenario);
    CommandResult result =
        RunCommand(ShellQuote(std::string(RE2PO_SOURCE_DIR) + "/tools/bench/gen-models") +
                   " --quiet --scenario " + scenario + " --out " + Q(out));
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return nlohmann::json::parse(result.out, nullptr, false);
  }

  nlohmann::json Import(const std::string& target, const fs::path& dir) {
    nlohmann::json summary = Json("import " + target + " " + Q(dir));
    for (const auto& file : summary["file_details"]) {
      EXPECT_EQ(file["fallback"], "") << file["path"] << " fell back to generic chunking";
    }
    return summary;
  }

  void ExpectExportIdentical(const std::string& ref, const fs::path& source) {
    fs::path out = Dir("export-" + ref.substr(0, ref.find('@')));
    ASSERT_EQ(Re2po("export " + ref + " " + Q(out)).exit_code, 0);
    EXPECT_EQ(DescribeTree(source), DescribeTree(out)) << ref;
  }
};

TEST_F(DedupTest, TransferLearnedHeadIsAllThatIsNew) {
  nlohmann::json scenario = Generate("resnet18-transfer");
  ASSERT_FALSE(scenario.is_discarded());
  fs::path base = Dir("resnet18-transfer") / "base" / "1";
  fs::path pets = Dir("resnet18-transfer") / "pets" / "1";
  Import("base", base);
  nlohmann::json derived = Import("pets", pets);
  const double head = scenario["head_bytes"].get<double>();
  const double logical = derived["logical_bytes"].get<double>();
  const double added = derived["new_raw_bytes"].get<double>();
  EXPECT_GT(head, 0);
  EXPECT_LE(added, head + 0.02 * logical) << "head " << head << ", model " << logical;
  EXPECT_EQ(derived["formats"]["pytorch-zip"], 1);
  ExpectExportIdentical("pets@1", pets);
  // The diff names the head as what changed and the backbone as shared.
  nlohmann::json diff = Json("diff base@1 pets@1");
  EXPECT_GT(diff["shared"].size(), 100u);
  EXPECT_LE(diff["changed"].size(), 2u);
}

TEST_F(DedupTest, RenamedAndReorderedTensorsAreShared) {
  ASSERT_FALSE(Generate("resnet18-renamed").is_discarded());
  Import("base", Dir("resnet18-renamed") / "base" / "1");
  nlohmann::json renamed = Import("renamed", Dir("resnet18-renamed") / "renamed" / "1");
  EXPECT_LE(renamed["new_raw_bytes"].get<double>(), 0.02 * renamed["logical_bytes"].get<double>());
  ExpectExportIdentical("renamed@1", Dir("resnet18-renamed") / "renamed" / "1");
}

TEST_F(DedupTest, SameWeightsInEveryFormatAreStoredOnce) {
  ASSERT_FALSE(Generate("resnet18-formats").is_discarded());
  fs::path root = Dir("resnet18-formats");
  Import("pt", root / "base" / "1");
  for (const std::string format : {"safetensors", "onnx", "h5"}) {
    nlohmann::json summary = Import(format, root / format / "1");
    ASSERT_TRUE(summary.is_object()) << format << ": the import printed no JSON summary";
    EXPECT_LE(summary.value("new_raw_bytes", 0.0), 0.05 * summary.value("logical_bytes", 0.0))
        << format << ": " << summary.dump();
    ExpectExportIdentical(format + "@1", root / format / "1");
  }
  nlohmann::json shown = Json("show onnx@1 --tensors");
  size_t shared = 0, tensors = 0;
  for (const auto& file : shown["files"]) {
    for (const auto& tensor : file["tensors"]) {
      ++tensors;
      shared += tensor["shared"].get<bool>();
    }
  }
  EXPECT_GT(tensors, 50u) << shown.dump().substr(0, 2000);
  EXPECT_GT(shared, tensors * 9 / 10) << shown.dump().substr(0, 2000);
}

// Full fine-tuning moves every weight a little: nothing is shared, but each
// tensor is stored as its XOR with the base's (codec 3), which costs about
// half; with --no-delta the fine-tune costs what the base did.
TEST_F(DedupTest, AFullFineTuneIsStoredAsDifferencesFromItsBase) {
  ASSERT_FALSE(Generate("resnet18-finetuned").is_discarded());
  const fs::path root = Dir("resnet18-finetuned");
  nlohmann::json base = Import("base", root / "base" / "1");
  nlohmann::json tuned = Import("tuned", root / "finetuned" / "1");
  const double base_stored = base["new_bytes"].get<double>();
  EXPECT_GT(tuned["delta_chunks"].get<uint64_t>(), 40u) << tuned.dump();
  EXPECT_LT(tuned["new_bytes"].get<double>(), 0.65 * base_stored) << tuned.dump();
  ExpectExportIdentical("tuned@1", root / "finetuned" / "1");

  // The base's removal keeps what the fine-tune is stored against.
  ASSERT_EQ(Re2po("rm base@1").exit_code, 0);
  ASSERT_EQ(Re2po("gc").exit_code, 0);
  const fs::path after_gc = Dir("export-after-gc");
  ASSERT_EQ(Re2po("export tuned@1 " + Q(after_gc)).exit_code, 0);
  EXPECT_EQ(DescribeTree(root / "finetuned" / "1"), DescribeTree(after_gc));
  EXPECT_EQ(Re2po("verify").exit_code, 0);

  nlohmann::json whole = Json("import whole " + Q(root / "finetuned" / "1") + " --no-delta");
  EXPECT_EQ(whole["delta_chunks"].get<uint64_t>(), 0u);
  EXPECT_EQ(whole["new_bytes"].get<double>(), 0.0) << "its chunks are stored already";
}

TEST_F(DedupTest, FixturesAreDetectedAndHalfPlusThreeSharesTensors) {
  REQUIRE_FIXTURE(two, "tf_serving/saved_model_half_plus_two_cpu/00000123");
  REQUIRE_FIXTURE(three, "tf_serving/saved_model_half_plus_three/00000123");
  nlohmann::json a = Import("half_plus_two", two);
  Import("half_plus_three", three);
  EXPECT_EQ(a["formats"]["tf-bundle"], 1);
  EXPECT_EQ(a["formats"]["tf-bundle-data"], 1);
  nlohmann::json diff = Json("diff half_plus_two@1 half_plus_three@1 --all");
  std::vector<std::string> shared;
  for (const auto& item : diff["shared"]) shared.push_back(item["name"]);
  const std::string data = "variables/variables.data-00000-of-00001:";
  EXPECT_NE(std::find(shared.begin(), shared.end(), data + "a"), shared.end());
  EXPECT_NE(std::find(shared.begin(), shared.end(), data + "c"), shared.end());
}

TEST_F(DedupTest, EveryFixtureIsDetectedAndExportsIdentically) {
  REQUIRE_FIXTURE(fixtures, "");
  // Model files proper; protobuf graphs, text, and data shards whose index
  // lives elsewhere are not meant to be recognised on their own, and
  // bad_half_plus_two is deliberately broken.
  auto is_model_file = [](const fs::path& path) {
    static const std::set<std::string> kModelExtensions = {
        ".safetensors", ".gguf", ".onnx", ".tflite", ".pt", ".pth", ".bin", ".index", ".h5"};
    return kModelExtensions.contains(path.extension().string()) &&
           path.string().find("bad_half_plus_two") == std::string::npos;
  };
  int checked = 0;
  for (const auto& entry : fs::recursive_directory_iterator(fixtures)) {
    if (!entry.is_regular_file() || !is_model_file(entry.path())) continue;
    std::string model = "f" + std::to_string(checked++);
    nlohmann::json summary = Json("import " + model + " " + Q(entry.path()));
    ASSERT_EQ(summary["file_details"].size(), 1u);
    EXPECT_NE(summary["file_details"][0]["format"], "generic")
        << entry.path() << ": " << summary["file_details"][0]["fallback"];
    fs::path out = Dir("out") / model;
    ASSERT_EQ(Re2po("export " + model + "@1 " + Q(out)).exit_code, 0);
    EXPECT_EQ(Sha256Hex(out / entry.path().filename()), Sha256Hex(entry.path()));
  }
  EXPECT_GT(checked, 30);
}

}  // namespace
}  // namespace re2po::testing
