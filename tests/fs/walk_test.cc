// A mounted version is exactly the imported tree: names (spaces, non-ASCII),
// types, permission bits, sizes, bytes, symlink targets, nested and empty
// directories, empty files. Also the synthetic parts around it: the model
// listing, `latest`, timestamps, extended attributes and inode numbers.
#include <sys/xattr.h>

#include "tests/fs/mount_fixture.h"

namespace re2po::testing {
namespace {

void MakeSourceTree(const stdfs::path& root) {
  WriteFileText(root / "config.json", "{\"hidden_size\": 768}\n");
  WriteFileBytes(root / "empty.bin", {});
  WriteFileBytes(root / "weights" / "shard 1 of 2.bin", RandomBytes(700 * 1024, 1));
  WriteFileBytes(root / "weights" / "shard 2 of 2.bin", RandomBytes(300 * 1024 + 7, 2));
  WriteFileText(root / "données" / "modèle ü 日本.txt", "non-ASCII names\n");
  WriteFileText(root / "nested" / "a" / "b" / "c" / "deep.txt", "deep\n");
  stdfs::create_directories(root / "nested" / "empty_dir");
  WriteFileText(root / "run.sh", "#!/bin/sh\necho hi\n");
  WriteFileText(root / "private.key", "secret\n");
  WriteFileText(root / "readonly.txt", "ro\n");
  stdfs::create_directories(root / "closed dir");
  WriteFileText(root / "closed dir" / "inside.txt", "x\n");
  stdfs::permissions(root / "run.sh", static_cast<stdfs::perms>(0755));
  stdfs::permissions(root / "private.key", static_cast<stdfs::perms>(0600));
  stdfs::permissions(root / "readonly.txt", static_cast<stdfs::perms>(0444));
  stdfs::permissions(root / "closed dir", static_cast<stdfs::perms>(0700));
  stdfs::create_symlink("weights/shard 1 of 2.bin", root / "current weights");
  stdfs::create_symlink("../../config.json", root / "nested" / "a" / "config link");
  stdfs::create_symlink("b/c", root / "nested" / "a" / "dir link");
}

class WalkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = store_.scratch() / "source";
    MakeSourceTree(source_);
    summary_ = store_.Import("bert", 1, source_, {{"stage", "prod"}, {"owner", "ml team"}});
  }

  TestStore store_;
  stdfs::path source_;
  ImportSummary summary_;
};

std::string GetXattr(const stdfs::path& path, const std::string& name) {
  char buffer[4096];
  ssize_t n = ::getxattr(path.c_str(), name.c_str(), buffer, sizeof buffer);
  if (n < 0) return "errno " + std::to_string(errno);
  return std::string(buffer, static_cast<size_t>(n));
}

TEST_F(WalkTest, MountedVersionMatchesTheSource) {
  REQUIRE_FUSE();
  TestMount mount(store_.dir());
  START_MOUNT(mount);
  EXPECT_EQ(CompareTrees(source_, mount.path("bert/1")), "");
  EXPECT_EQ(stdfs::file_size(mount.path("bert/1/empty.bin")), 0u);
  EXPECT_TRUE(stdfs::is_directory(mount.path("bert/1/nested/empty_dir")));
  EXPECT_TRUE(stdfs::is_empty(mount.path("bert/1/nested/empty_dir")));
  // Symlinks resolve inside the mount.
  EXPECT_EQ(ReadFileBytes(mount.path("bert/1/current weights")), RandomBytes(700 * 1024, 1));
  EXPECT_EQ(ReadFileBytes(mount.path("bert/1/nested/a/dir link/deep.txt")).size(), 5u);
}

TEST_F(WalkTest, RootListsModelsAndModelListsVersionsAndLatest) {
  REQUIRE_FUSE();
  store_.Import("bert", 2, source_);
  store_.Import("alpha", 7, source_);
  TestMount mount(store_.dir());
  START_MOUNT(mount);
  EXPECT_EQ(ListInOrder(mount.mountpoint()), (std::vector<std::string>{"alpha", "bert"}));
  EXPECT_EQ(ListInOrder(mount.path("bert")), (std::vector<std::string>{"1", "2", "latest"}));
  EXPECT_EQ(stdfs::read_symlink(mount.path("bert/latest")), "2");
  EXPECT_EQ(stdfs::read_symlink(mount.path("alpha/latest")), "7");
  EXPECT_TRUE(stdfs::is_symlink(mount.path("bert/latest")));
  EXPECT_EQ(CompareTrees(source_, mount.path("bert/latest")), "");
  EXPECT_FALSE(stdfs::exists(mount.path("bert/01")));  // no leading zeros
  EXPECT_FALSE(stdfs::exists(mount.path("bert/3")));
  EXPECT_FALSE(stdfs::exists(mount.path("nobody")));
}

TEST_F(WalkTest, TimestampsAreSourceMtimesAndVersionCreatedTime) {
  REQUIRE_FUSE();
  TestMount mount(store_.dir());
  START_MOUNT(mount);
  struct stat source {
  }, mounted{};
  for (const char* name : {"config.json", "weights/shard 1 of 2.bin", "nested/a/b/c"}) {
    ASSERT_EQ(::lstat((source_ / name).c_str(), &source), 0);
    ASSERT_EQ(::lstat(mount.path(std::string("bert/1/") + name).c_str(), &mounted), 0);
    EXPECT_EQ(mounted.st_mtim.tv_sec, source.st_mtim.tv_sec) << name;
    EXPECT_EQ(mounted.st_mtim.tv_nsec, source.st_mtim.tv_nsec) << name;
  }
  ASSERT_EQ(::stat(mount.path("bert/1").c_str(), &mounted), 0);
  const int64_t created = summary_.version.created_ns;
  EXPECT_EQ(mounted.st_mtim.tv_sec, created / 1'000'000'000);
  EXPECT_EQ(mounted.st_mtim.tv_nsec, created % 1'000'000'000);
  EXPECT_EQ(mounted.st_uid, ::getuid());
}

TEST_F(WalkTest, ExtendedAttributesGiveDigestsAndLabels) {
  REQUIRE_FUSE();
  TestMount mount(store_.dir());
  START_MOUNT(mount);
  const stdfs::path version = mount.path("bert/1");
  EXPECT_EQ(GetXattr(version, "user.re2po.digest"), summary_.version.digest.Hex());
  EXPECT_EQ(GetXattr(version, "user.re2po.label.stage"), "prod");
  EXPECT_EQ(GetXattr(version, "user.re2po.label.owner"), "ml team");
  EXPECT_EQ(GetXattr(version / "config.json", "user.re2po.digest"),
            Sha256Hex(source_ / "config.json"));
  EXPECT_EQ(GetXattr(version / "empty.bin", "user.re2po.digest"), Sha256Hex(source_ / "empty.bin"));
  EXPECT_EQ(GetXattr(version / "config.json", "user.re2po.nothing"),
            "errno " + std::to_string(ENODATA));
  EXPECT_EQ(GetXattr(version / "nested", "user.re2po.digest"), "errno " + std::to_string(ENODATA));

  char names[4096];
  ssize_t n = ::listxattr(version.c_str(), names, sizeof names);
  ASSERT_GT(n, 0);
  std::set<std::string> listed;
  for (const char* p = names; p < names + n; p += std::strlen(p) + 1) listed.insert(p);
  EXPECT_EQ(listed, (std::set<std::string>{"user.re2po.digest", "user.re2po.label.owner",
                                           "user.re2po.label.stage"}));
  EXPECT_EQ(::listxattr(version.c_str(), nullptr, 0), n);  // size query
  char tiny[4];
  EXPECT_EQ(::getxattr(version.c_str(), "user.re2po.digest", tiny, sizeof tiny), -1);
  EXPECT_EQ(errno, ERANGE);
}

std::map<std::string, ino_t> InodesOf(const stdfs::path& root) {
  std::map<std::string, ino_t> inodes;
  for (const auto& entry : stdfs::recursive_directory_iterator(root)) {
    struct stat st {};
    if (::lstat(entry.path().c_str(), &st) == 0) {
      inodes[stdfs::relative(entry.path(), root).string()] = st.st_ino;
    }
  }
  return inodes;
}

TEST_F(WalkTest, InodeNumbersAreDistinctAndStableAcrossRemounts) {
  REQUIRE_FUSE();
  store_.Import("bert", 2, source_);
  std::map<std::string, ino_t> first;
  stdfs::path mountpoint;
  {
    TestMount mount(store_.dir());
    START_MOUNT(mount);
    first = InodesOf(mount.mountpoint());
    mountpoint = mount.mountpoint();
  }
  std::set<ino_t> distinct;
  for (const auto& [path, ino] : first) distinct.insert(ino);
  EXPECT_EQ(distinct.size(), first.size()) << "two paths share an inode number";
  EXPECT_GT(first.size(), 30u);

  TestMount again(store_.dir());
  START_MOUNT(again);
  EXPECT_EQ(InodesOf(again.mountpoint()), first);
}

TEST_F(WalkTest, EveryWriteFailsWithEROFS) {
  REQUIRE_FUSE();
  TestMount mount(store_.dir());
  START_MOUNT(mount);
  const stdfs::path version = mount.path("bert/1");
  const std::string file = (version / "config.json").string();
  auto expect_erofs = [](int rc, const char* what) {
    const int err = errno;
    EXPECT_EQ(rc, -1) << what;
    EXPECT_EQ(err, EROFS) << what << ": " << std::strerror(err);
  };
  expect_erofs(::open(file.c_str(), O_WRONLY), "open O_WRONLY");
  expect_erofs(::open(file.c_str(), O_RDWR), "open O_RDWR");
  expect_erofs(::open((version / "new").c_str(), O_WRONLY | O_CREAT, 0644), "create");
  expect_erofs(::mkdir((version / "dir").c_str(), 0755), "mkdir");
  expect_erofs(::mkdir(mount.path("newmodel").c_str(), 0755), "mkdir at the root");
  expect_erofs(::unlink(file.c_str()), "unlink");
  expect_erofs(::rmdir((version / "nested/empty_dir").c_str()), "rmdir");
  expect_erofs(::rename(file.c_str(), (version / "renamed").c_str()), "rename");
  expect_erofs(::truncate(file.c_str(), 0), "truncate");
  expect_erofs(::chmod(file.c_str(), 0777), "chmod");
  expect_erofs(::symlink("x", (version / "link").c_str()), "symlink");
  expect_erofs(::setxattr(file.c_str(), "user.x", "1", 1, 0), "setxattr");
  expect_erofs(::removexattr(version.c_str(), "user.re2po.digest"), "removexattr");
  EXPECT_EQ(CompareTrees(source_, version), "");
}

}  // namespace
}  // namespace re2po::testing
