// Usage files: atomic per-mount files, summed by ReadUsage.
#include "store/usage.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "tests/testutil/testutil.h"

namespace re2po {
namespace {
using testing::TempDir;

TEST(UsageTest, NoUsageDirectoryMeansNoUsage) {
  TempDir dir;
  auto usage = ReadUsage(dir.path());
  ASSERT_TRUE(usage.ok()) << usage.status().ToString();
  EXPECT_TRUE(usage->empty());
}

TEST(UsageTest, WriteThenReadRoundTrips) {
  TempDir dir;
  UsageMap usage;
  usage[{"bert", 3}] = {5, 1000};
  usage[{"llama 2", 12}] = {1, 2000};
  ASSERT_OK(WriteUsage(dir.path(), "host-1", usage));
  auto read = ReadUsage(dir.path());
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((read->at({"bert", 3}).opens), 5u);
  EXPECT_EQ((read->at({"llama 2", 12}).last_access_ns), 2000);
  // Rewriting replaces this mount's file; no temporary file is left behind.
  usage[{"bert", 3}] = {6, 3000};
  ASSERT_OK(WriteUsage(dir.path(), "host-1", usage));
  EXPECT_EQ((ReadUsage(dir.path())->at({"bert", 3}).opens), 6u);
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(UsageDir(dir.path()))) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1u);
}

TEST(UsageTest, MountsAreSummedOpensAddLastAccessIsTheLatest) {
  TempDir dir;
  ASSERT_OK(WriteUsage(dir.path(), "a-1", {{{"m", 1}, {2, 100}}, {{"m", 2}, {1, 50}}}));
  ASSERT_OK(WriteUsage(dir.path(), "b-2", {{{"m", 1}, {3, 70}}}));
  auto usage = ReadUsage(dir.path());
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ((usage->at({"m", 1}).opens), 5u);
  EXPECT_EQ((usage->at({"m", 1}).last_access_ns), 100);
  EXPECT_EQ((usage->at({"m", 2}).opens), 1u);
}

TEST(UsageTest, MalformedFilesAreSkipped) {
  TempDir dir;
  ASSERT_OK(WriteUsage(dir.path(), "good-1", {{{"m", 1}, {2, 100}}}));
  testing::WriteFileText(UsageDir(dir.path()) / "bad-2.json", "{not json");
  testing::WriteFileText(UsageDir(dir.path()) / "odd-3.json", "{\"versions\": [{\"model\": 1}]}");
  auto usage = ReadUsage(dir.path());
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage->size(), 1u);
  EXPECT_EQ((usage->at({"m", 1}).opens), 2u);
}

TEST(UsageTest, BadMountIdsAndReadOnlyStoresFail) {
  TempDir dir;
  EXPECT_FALSE(WriteUsage(dir.path(), "", {}).ok());
  EXPECT_FALSE(WriteUsage(dir.path(), "a/b", {}).ok());
  EXPECT_FALSE(WriteUsage(dir.path(), ".hidden", {}).ok());
  if (::geteuid() == 0) GTEST_SKIP() << "root writes through read-only permissions";
  std::filesystem::create_directories(UsageDir(dir.path()));
  ::chmod(UsageDir(dir.path()).c_str(), 0555);
  EXPECT_FALSE(WriteUsage(dir.path(), "host-1", {{{"m", 1}, {1, 1}}}).ok());
}

}  // namespace
}  // namespace re2po
