// The HDF5 group walk against files built to trip it: a group that links
// back to the root while its header claims one link (libhdf5's own visitor
// loops on it), groups nested past the depth limit, one dataset behind two
// hard links, and links that point outside the file.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "store/formats/hdf5.h"
#include "tests/store/formats/parser_checks.h"
#include "tests/testutil/testutil.h"

namespace re2po::testing {
namespace {

// argv[1]: output. The root gets a hard link from its child "a", then its
// object header (v1: the link count is the 4 bytes at offset 4) is patched
// back to one link, as a mutated file had it in the long fuzz run.
constexpr char kCycleScript[] = R"PY(
import h5py, numpy as np, struct, sys
with h5py.File(sys.argv[1], "w") as f:
  f.create_group("a").create_dataset("w", data=np.arange(16, dtype=np.float32))
  f["a/up"] = f["/"]
  root = h5py.h5o.get_info(f.id).addr
data = bytearray(open(sys.argv[1], "rb").read())
assert data[root] == 1, "expected a version 1 object header"
struct.pack_into("<I", data, root + 4, 1)
open(sys.argv[1], "wb").write(data)
with h5py.File(sys.argv[1], "r") as f:
  assert h5py.h5o.get_info(f.id).rc == 1
)PY";

// argv[1]: output, argv[2]: how many groups deep the one dataset sits.
constexpr char kDeepScript[] = R"PY(
import h5py, numpy as np, sys
with h5py.File(sys.argv[1], "w") as f:
  f.create_dataset("/".join(["g"] * int(sys.argv[2]) + ["w"]), data=np.ones(4, np.float32))
)PY";

// argv[1]: output, argv[2]: another HDF5 file on disk for an external link.
constexpr char kLinksScript[] = R"PY(
import h5py, numpy as np, sys
with h5py.File(sys.argv[2], "w") as other:
  other.create_dataset("secret", data=np.arange(64, dtype=np.float32))
with h5py.File(sys.argv[1], "w") as f:
  f.create_dataset("b/shared", data=np.arange(8, dtype=np.float32))
  f["a/alias"] = f["b/shared"]
  f["soft"] = h5py.SoftLink("/b/shared")
  f["outside"] = h5py.ExternalLink(sys.argv[2], "/secret")
)PY";

std::vector<uint8_t> Generate(const TempDir& dir, const char* script, const std::string& args) {
  CommandResult run = RunPython(dir, script, args);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  return ReadFileBytes(dir.path() / "model.h5");
}

class Hdf5TreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PythonHasModules({"h5py", "numpy"})) GTEST_SKIP() << "/usr/bin/python3 lacks h5py";
  }
  std::string Output() const { return ShellQuote((dir_.path() / "model.h5").string()); }
  TempDir dir_;
};

// libhdf5 1.10's H5Ovisit2 never returned on this file (the isolated child
// ran into its 30 s alarm); each object is now entered once.
TEST_F(Hdf5TreeTest, AGroupLinkedBackToTheRootIsWalkedOnce) {
  const std::vector<uint8_t> bytes = Generate(dir_, kCycleScript, Output());
  Result<ParsedFile> parsed = ParseHdf5Isolated(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->segments.size(), 1u);
  EXPECT_EQ(parsed->segments[0].name, "/a/w");
  EXPECT_EQ(parsed->segments[0].length, 64u);
  ExpectSortedDisjointInBounds(parsed->segments, bytes.size());
}

TEST_F(Hdf5TreeTest, NestingUpToTheLimitParsesAndDeeperIsRefused) {
  const int deepest_allowed = kHdf5MaxDepth - 1;
  std::vector<uint8_t> bytes =
      Generate(dir_, kDeepScript, Output() + " " + std::to_string(deepest_allowed));
  Result<ParsedFile> parsed = ParseHdf5(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->segments.size(), 1u);
  EXPECT_EQ(parsed->segments[0].name.size(), 2u * deepest_allowed + 2);  // "/g" x N + "/w"

  bytes = Generate(dir_, kDeepScript, Output() + " " + std::to_string(kHdf5MaxDepth));
  parsed = ParseHdf5(bytes);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("nested deeper than"), std::string::npos)
      << parsed.status().ToString();
}

// The dataset appears once, under its first hard link in name order (as
// H5Ovisit2 named it); soft and external links are not followed, so the
// parser reads nothing but the bytes it was given.
TEST_F(Hdf5TreeTest, ADatasetBehindTwoLinksIsOneTensorAndOtherFilesAreNotRead) {
  const std::filesystem::path other = dir_.path() / "other.h5";
  const std::vector<uint8_t> bytes =
      Generate(dir_, kLinksScript, Output() + " " + ShellQuote(other.string()));
  Result<ParsedFile> parsed = ParseHdf5(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->segments.size(), 1u);
  EXPECT_EQ(parsed->segments[0].name, "/a/alias");
  EXPECT_EQ(parsed->segments[0].length, 32u);
}

}  // namespace
}  // namespace re2po::testing
