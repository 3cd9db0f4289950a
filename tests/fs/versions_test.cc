// Version directories: a model with 1,000 versions lists them in numeric
// order with `latest` pointing at the highest, and the TensorFlow Serving
// layout (numbered version folders) mounts byte-identical.

#include "tests/fs/mount_fixture.h"

namespace re2po::testing {
namespace {

// Every version 1-1000; sanitizer builds (RE2PO_TEST_SCALE=small), where
// each import process is several times slower, take the numbers where text
// and numeric order differ (9/10, 99/100, 999/1000) and a spread between.
std::vector<uint64_t> VersionsToImport() {
  std::vector<uint64_t> versions;
  for (uint64_t version = 1; version <= 1000; ++version) {
    const bool boundary = version <= 12 || (version >= 98 && version <= 101) || version >= 998;
    if (!SmallScale() || boundary || version % 37 == 0 || version == 512) {
      versions.push_back(version);
    }
  }
  return versions;
}

TEST(VersionsTest, ThousandVersionsListInNumericOrder) {
  REQUIRE_FUSE();
  TestStore store;
  const stdfs::path source = store.scratch() / "tiny";
  const std::vector<uint64_t> versions = VersionsToImport();
  for (uint64_t version : versions) {
    WriteFileText(source / "version.txt", std::to_string(version) + "\n");
    store.Import("many", version, source);
  }
  store.CloseWriter();
  TestMount mount(store.dir());
  START_MOUNT(mount);

  std::vector<std::string> expected;
  for (uint64_t version : versions) expected.push_back(std::to_string(version));
  expected.push_back("latest");
  EXPECT_EQ(ListInOrder(mount.path("many")), expected);
  EXPECT_EQ(ListInOrder(mount.path("many")), expected);  // again, from a fresh opendir
  EXPECT_EQ(stdfs::read_symlink(mount.path("many/latest")), "1000");
  for (int version : {1, 9, 10, 99, 100, 512, 999, 1000}) {
    const stdfs::path file = mount.path("many/" + std::to_string(version) + "/version.txt");
    const std::vector<uint8_t> bytes = ReadFileBytes(file);
    EXPECT_EQ(std::string(bytes.begin(), bytes.end()), std::to_string(version) + "\n") << file;
  }
  EXPECT_EQ(ReadFileBytes(mount.path("many/latest/version.txt")).size(), 5u);
  struct stat st {};
  ASSERT_EQ(::stat(mount.path("many").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, versions.size() + 2);
}

TEST(VersionsTest, TensorFlowServingLayoutMountsByteIdentical) {
  REQUIRE_FUSE();
  REQUIRE_FIXTURE(fixture, "tf_serving/saved_model_half_plus_two_2_versions");
  TestStore store;
  store.Import("half_plus_two", 124, fixture / "00000124");
  store.Import("half_plus_two", 123, fixture / "00000123");
  store.CloseWriter();
  TestMount mount(store.dir());
  START_MOUNT(mount);

  EXPECT_EQ(ListInOrder(mount.path("half_plus_two")),
            (std::vector<std::string>{"123", "124", "latest"}));
  EXPECT_EQ(stdfs::read_symlink(mount.path("half_plus_two/latest")), "124");
  EXPECT_EQ(CompareTrees(fixture / "00000123", mount.path("half_plus_two/123")), "");
  EXPECT_EQ(CompareTrees(fixture / "00000124", mount.path("half_plus_two/124")), "");
  for (const char* file :
       {"saved_model.pb", "variables/variables.index", "variables/variables.data-00000-of-00001"}) {
    EXPECT_EQ(Sha256Hex(mount.path(std::string("half_plus_two/123/") + file)),
              Sha256Hex(fixture / "00000123" / file))
        << file;
  }
}

}  // namespace
}  // namespace re2po::testing
