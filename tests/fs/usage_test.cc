// The mount records opens and last access per version into
// <store>/usage/<host>-<pid>.json, flushed in the background and at unmount.
#include <chrono>

#include "store/base/clock.h"
#include "store/usage.h"
#include "tests/fs/mount_fixture.h"

namespace re2po::testing {
namespace {

TEST(MountUsageTest, OpensAndLastAccessAreRecordedPerVersion) {
  REQUIRE_FUSE();
  TestStore store;
  const stdfs::path source = store.scratch() / "source";
  WriteFileText(source / "a.txt", "a\n");
  WriteFileText(source / "b.txt", "b\n");
  store.Import("used", 1, source);
  store.Import("used", 2, source);
  store.Import("unused", 1, source);
  store.CloseWriter();

  const int64_t started = NowNs() - 2'000'000'000;  // the coarse clock may lag a little
  TestMount mount(store.dir());
  START_MOUNT(mount);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(ReadFileBytes(mount.path("used/1/a.txt")).size(), 2u);
  }
  EXPECT_EQ(ReadFileBytes(mount.path("used/2/b.txt")).size(), 2u);
  const pid_t pid = mount.pid();
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  ASSERT_TRUE(mount.WaitForExit(std::chrono::seconds(20)));

  // One file per mount, named after the host and the daemon's pid.
  bool found = false;
  for (const auto& entry : stdfs::directory_iterator(UsageDir(store.dir()))) {
    if (entry.path().filename().string().ends_with("-" + std::to_string(pid) + ".json")) {
      found = true;
    }
  }
  EXPECT_TRUE(found) << "no usage file for pid " << pid;

  auto usage = ReadUsage(store.dir());
  ASSERT_TRUE(usage.ok()) << usage.status().ToString();
  const auto v1 = usage->find({"used", 1});
  const auto v2 = usage->find({"used", 2});
  ASSERT_NE(v1, usage->end());
  ASSERT_NE(v2, usage->end());
  // The kernel may open a file once per open(2); keep_cache never merges opens.
  EXPECT_EQ(v1->second.opens, 3u);
  EXPECT_EQ(v2->second.opens, 1u);
  EXPECT_GE(v1->second.last_access_ns, started);
  EXPECT_LE(v1->second.last_access_ns, NowNs() + 1'000'000'000);
  EXPECT_EQ(usage->count({"unused", 1}), 0u);
}

}  // namespace
}  // namespace re2po::testing
