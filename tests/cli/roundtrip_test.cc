// Import then export is byte-identical, for awkward trees and real models.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "tests/cli/cli_fixture.h"

namespace re2po::testing {
namespace {
namespace fs = std::filesystem;

void WriteSparseRandomFile(const fs::path& path, uint64_t size) {
  // Random blocks with repeats, so chunking and compression both have work.
  std::ofstream out(path, std::ios::binary);
  auto block = RandomBytes(1 << 20, 7);
  std::vector<uint8_t> zeros(1 << 20, 0);
  for (uint64_t written = 0, i = 0; written < size; ++i) {
    const auto& source = (i % 5 == 4) ? zeros : block;
    if (i % 3 == 0) block = RandomBytes(1 << 20, i);
    size_t n = static_cast<size_t>(std::min<uint64_t>(source.size(), size - written));
    out.write(reinterpret_cast<const char*>(source.data()), static_cast<std::streamsize>(n));
    written += n;
  }
}

std::string ReadFileText(const fs::path& path) {
  auto bytes = ReadFileBytes(path);
  return std::string(bytes.begin(), bytes.end());
}

class RoundTripTest : public CliTest {};

TEST_F(RoundTripTest, AwkwardTreeExportsIdentically) {
  fs::path src = Dir("src");
  fs::create_directories(src / "a" / "b c" / "ünïcødé");
  WriteFileText(src / "a" / "b c" / "ünïcødé" / "weights with spaces.bin", "payload");
  WriteFileText(src / "empty", "");
  fs::create_directories(src / "empty dir");
  WriteFileBytes(src / "a" / "random.bin", RandomBytes(3 << 20, 1));
  fs::create_symlink("../empty", src / "a" / "link-to-empty");
  fs::create_symlink("b c", src / "a" / "dir-link");
  chmod((src / "a" / "random.bin").c_str(), 0600);
  chmod((src / "empty").c_str(), 0755);
  ASSERT_EQ(Re2po("import tree@7 " + Q(src)).exit_code, 0);
  ASSERT_EQ(Re2po("export tree@7 " + Q(Dir("out"))).exit_code, 0);
  EXPECT_EQ(DescribeTree(src), DescribeTree(Dir("out")));
}

TEST_F(RoundTripTest, EmptyVersionRoundTrips) {
  fs::create_directories(Dir("nothing"));
  CommandResult imported = Re2po("import hollow " + Q(Dir("nothing")));
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  ASSERT_EQ(Re2po("export hollow@1 " + Q(Dir("out"))).exit_code, 0);
  EXPECT_TRUE(fs::is_directory(Dir("out")));
  EXPECT_TRUE(fs::is_empty(Dir("out")));
}

TEST_F(RoundTripTest, LargeFileRoundTripsAndCatStreamsIt) {
  const uint64_t size = static_cast<uint64_t>(200.0 * Scale() * (1 << 20)) + 12345;
  fs::create_directories(Dir("big"));
  WriteSparseRandomFile(Dir("big") / "model.bin", size);
  CommandResult imported = Re2po("import big " + Q(Dir("big")) + " --json");
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  auto summary = nlohmann::json::parse(imported.out);
  EXPECT_EQ(summary["logical_bytes"].get<uint64_t>(), size);
  EXPECT_LT(summary["new_raw_bytes"].get<uint64_t>(), size);  // repeated blocks deduplicate
  ASSERT_EQ(Re2po("export big@1 " + Q(Dir("out"))).exit_code, 0);
  EXPECT_EQ(Sha256Hex(Dir("out") / "model.bin"), Sha256Hex(Dir("big") / "model.bin"));
  CommandResult cat = Re2po("cat big@1 model.bin > " + Q(Dir("cat.bin")));
  ASSERT_EQ(cat.exit_code, 0) << cat.err;
  EXPECT_EQ(Sha256Hex(Dir("cat.bin")), Sha256Hex(Dir("big") / "model.bin"));
}

TEST_F(RoundTripTest, SingleFileImportKeepsItsName) {
  WriteFileBytes(Dir("model.onnx.bin"), RandomBytes(100000, 3));
  ASSERT_EQ(Re2po("import single " + Q(Dir("model.onnx.bin"))).exit_code, 0);
  ASSERT_EQ(Re2po("export single@1 " + Q(Dir("out"))).exit_code, 0);
  EXPECT_EQ(Sha256Hex(Dir("out") / "model.onnx.bin"), Sha256Hex(Dir("model.onnx.bin")));
}

TEST_F(RoundTripTest, ExportReplacesOnlyAnEmptyDestinationAndLeavesNoStaging) {
  fs::create_directories(Dir("src") / "sub");
  WriteFileBytes(Dir("src") / "sub" / "w.bin", RandomBytes(1 << 20, 4));
  ASSERT_EQ(Re2po("import dest " + Q(Dir("src"))).exit_code, 0);
  fs::create_directories(Dir("dests") / "empty");
  ASSERT_EQ(Re2po("export dest@1 " + Q(Dir("dests") / "empty")).exit_code, 0);
  EXPECT_EQ(DescribeTree(Dir("src")), DescribeTree(Dir("dests") / "empty"));
  ASSERT_EQ(Re2po("export dest@1 " + Q((Dir("dests") / "slash").string() + "/")).exit_code, 0);
  EXPECT_EQ(DescribeTree(Dir("src")), DescribeTree(Dir("dests") / "slash"));

  WriteFileText(Dir("dests") / "full" / "keep.txt", "mine");
  CommandResult refused = Re2po("export dest@1 " + Q(Dir("dests") / "full"));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("not an empty directory"), std::string::npos) << refused.err;
  EXPECT_EQ(ReadFileText(Dir("dests") / "full" / "keep.txt"), "mine");
  WriteFileText(Dir("dests") / "a-file", "mine");
  EXPECT_EQ(Re2po("export dest@1 " + Q(Dir("dests") / "a-file")).exit_code, 1);
  EXPECT_EQ(ReadFileText(Dir("dests") / "a-file"), "mine");

  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(Dir("dests"))) {
    names.insert(entry.path().filename().string());
  }
  EXPECT_EQ(names, (std::set<std::string>{"a-file", "empty", "full", "slash"}));
}

TEST_F(RoundTripTest, SameDirectoryTwiceStoresUnderOnePercentNew) {
  fs::create_directories(Dir("m"));
  WriteFileBytes(Dir("m") / "a.bin", RandomBytes(8 << 20, 11));
  WriteFileBytes(Dir("m") / "b.bin", RandomBytes(3 << 20, 12));
  auto first = Json("import twice " + Q(Dir("m")));
  auto second = Json("import twice " + Q(Dir("m")));
  EXPECT_EQ(second["version"].get<int>(), 2);
  double logical = second["logical_bytes"].get<double>();
  EXPECT_LT(second["new_bytes"].get<double>(), 0.01 * logical);
  EXPECT_EQ(first["digest"], second["digest"]);  // same content, same version digest
}

TEST_F(RoundTripTest, TensorflowServingFixturesRoundTrip) {
  REQUIRE_FIXTURE(serving, "tf_serving");
  int imported = 0;
  for (const auto& model : fs::directory_iterator(serving)) {
    for (const auto& version : fs::directory_iterator(model.path())) {
      std::string name = model.path().filename().string();
      std::string number = std::to_string(std::stoull(version.path().filename().string()));
      CommandResult result = Re2po("import " + name + "@" + number + " " + Q(version.path()));
      ASSERT_EQ(result.exit_code, 0) << name << ": " << result.err;
      fs::path out = Dir("out") / name / number;
      ASSERT_EQ(Re2po("export " + name + "@" + number + " " + Q(out)).exit_code, 0);
      EXPECT_EQ(DescribeTree(version.path()), DescribeTree(out)) << name;
      ++imported;
    }
  }
  EXPECT_GT(imported, 5);
  CommandResult verify = Re2po("verify");
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

}  // namespace
}  // namespace re2po::testing
