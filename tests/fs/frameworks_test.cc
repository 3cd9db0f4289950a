// Real frameworks load models from the mount: torch.load, onnx.load +
// checker, h5py and numpy.memmap, each compared with the original. The
// models are generated at test time by tests/python/make_framework_models.py
// with /usr/bin/python3 (not whatever python3 is first on PATH).
#include "tests/fs/mount_fixture.h"

namespace re2po::testing {
namespace {

std::string PythonScript(const std::string& name) {
  return (stdfs::path(RE2PO_SOURCE_DIR) / "tests" / "python" / name).string();
}

TEST(FrameworksTest, ModelsLoadFromTheMountEqualToTheOriginals) {
  REQUIRE_FUSE();
  if (!PythonHasModules({"torch", "torchvision", "onnx", "h5py", "numpy"})) {
    GTEST_SKIP() << "/usr/bin/python3 lacks torch, torchvision, onnx, h5py or numpy";
  }
  TestStore store;
  const stdfs::path models = store.scratch() / "models";
  CommandResult made =
      RunCommand("/usr/bin/python3 " + ShellQuote(PythonScript("make_framework_models.py")) + " " +
                 ShellQuote(models.string()));
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
  store.Import("frameworks", 1, models);

  TestMount mount(store.dir());
  START_MOUNT(mount);
  CommandResult checked = RunCommand(
      "/usr/bin/python3 " + ShellQuote(PythonScript("check_framework_models.py")) + " " +
      ShellQuote(models.string()) + " " + ShellQuote(mount.path("frameworks/1").string()));
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err << mount.Log();
  EXPECT_NE(checked.out.find("ok torch.load"), std::string::npos) << checked.out;
  EXPECT_NE(checked.out.find("ok onnx.load"), std::string::npos) << checked.out;
  EXPECT_NE(checked.out.find("ok h5py"), std::string::npos) << checked.out;
  EXPECT_NE(checked.out.find("ok numpy.memmap"), std::string::npos) << checked.out;
}

}  // namespace
}  // namespace re2po::testing
