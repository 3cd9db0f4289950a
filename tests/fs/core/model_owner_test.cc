// A model's access as the mount core shows it: owner, group and mode on
// /<model> and everything below it, hidden models left out of / for callers
// who may not list them, and a change telling the kernel to forget every
// attribute it cached below the model.
#include <algorithm>

#include "fs/core/mounted_repo.h"
#include "tests/fs/core/walk.h"
#include "tests/fs/mount_fixture.h"

namespace re2po::fs {
namespace {
using namespace re2po::testing;

constexpr uid_t kMounter = 123;
constexpr gid_t kMounterGroup = 456;

class ModelOwnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = store_.scratch() / "source";
    WriteFileBytes(source_ / "model.onnx", RandomBytes(200000, 4));
    stdfs::permissions(source_ / "model.onnx", stdfs::perms(0644));
    WriteFileBytes(source_ / "bin" / "run", RandomBytes(1000, 5));
    stdfs::permissions(source_ / "bin" / "run", stdfs::perms(0755));
    stdfs::permissions(source_ / "bin", stdfs::perms(0755));
    store_.Import("secret", 1, source_);
    store_.Import("open", 1, source_);
  }

  std::unique_ptr<MountedRepository> OpenRepo() {
    StoreOptions options;
    options.dir = store_.dir();
    auto store = Store::Open(options);
    if (!store.ok()) throw std::runtime_error(store.status().ToString());
    RepoOptions repo_options;
    repo_options.owner = {kMounter, kMounterGroup, std::nullopt};
    return std::make_unique<MountedRepository>(
        std::move(store).value(), std::make_unique<UsageRecorder>("", "test"), repo_options);
  }

  void SetAccess(const std::string& model, const ModelAccess& access) {
    Status status = store_.writer().SetModelAccess(model, access);
    ASSERT_TRUE(status.ok()) << status.ToString();
  }

  static struct stat Attr(MountedRepository& repo, const std::string& path) {
    auto attr = repo.GetAttr(WalkPath(repo, path));
    if (!attr.ok()) throw std::runtime_error(attr.status().ToString());
    return attr->attr;
  }

  static std::vector<std::string> RootNames(MountedRepository& repo, const Caller& caller) {
    auto listing = repo.OpenDir(kRootIno, caller);
    if (!listing.ok()) throw std::runtime_error(listing.status().ToString());
    std::vector<std::string> names;
    for (const DirEntry& entry : **listing) names.push_back(entry.name);
    return names;
  }

  static Caller User(uid_t uid, gid_t gid, std::vector<gid_t> groups = {}) {
    Caller caller;
    caller.uid = uid;
    caller.gid = gid;
    caller.groups = std::move(groups);
    return caller;
  }

  TestStore store_;
  stdfs::path source_;
};

TEST_F(ModelOwnerTest, DefaultsAreTheMountingUserAndTheImportedBits) {
  auto repo = OpenRepo();
  const struct stat model = Attr(*repo, "open");
  EXPECT_EQ(model.st_uid, kMounter);
  EXPECT_EQ(model.st_gid, kMounterGroup);
  EXPECT_EQ(model.st_mode & 07777, 0555u);
  EXPECT_EQ(Attr(*repo, "open/1/model.onnx").st_mode & 07777, 0644u);
  EXPECT_EQ(Attr(*repo, "open/1/bin/run").st_mode & 07777, 0755u);
}

TEST_F(ModelOwnerTest, OwnerGroupAndModeReachEverythingBelowTheModel) {
  ModelAccess access;
  access.uid = 1001;
  access.gid = 2002;
  access.mode = 0750;
  SetAccess("secret", access);
  auto repo = OpenRepo();
  for (const char* path : {"secret", "secret/latest", "secret/1", "secret/1/model.onnx",
                           "secret/1/bin", "secret/1/bin/run"}) {
    const struct stat st = Attr(*repo, path);
    EXPECT_EQ(st.st_uid, 1001u) << path;
    EXPECT_EQ(st.st_gid, 2002u) << path;
  }
  EXPECT_EQ(Attr(*repo, "secret").st_mode & 07777, 0750u);
  EXPECT_EQ(Attr(*repo, "secret/1/bin").st_mode & 07777, 0750u);         // 0755 capped
  EXPECT_EQ(Attr(*repo, "secret/1/model.onnx").st_mode & 07777, 0640u);  // 0644 capped
  EXPECT_EQ(Attr(*repo, "secret/1/bin/run").st_mode & 07777, 0750u);
  // The other model keeps the mount's defaults.
  EXPECT_EQ(Attr(*repo, "open/1/model.onnx").st_uid, kMounter);
}

TEST_F(ModelOwnerTest, HiddenModelsAreNotFoundByCallersWhoMayNotListThem) {
  ModelAccess access;
  access.uid = 1001;
  access.gid = 2002;
  access.mode = 0750;
  access.hidden = true;
  SetAccess("secret", access);
  auto repo = OpenRepo();
  const std::vector<std::string> all = {".", "..", "open", "secret"};
  const std::vector<std::string> open_only = {".", "..", "open"};
  EXPECT_EQ(RootNames(*repo, User(0, 0)), all);                // root
  EXPECT_EQ(RootNames(*repo, User(1001, 9)), all);             // the owner
  EXPECT_EQ(RootNames(*repo, User(5000, 2002)), all);          // the group
  EXPECT_EQ(RootNames(*repo, User(5000, 9, {3, 2002})), all);  // a supplementary group
  EXPECT_EQ(RootNames(*repo, User(5000, 9, {3})), open_only);  // anyone else
  auto stranger = repo->Lookup(kRootIno, "secret", User(5000, 9));
  ASSERT_FALSE(stranger.ok());
  EXPECT_TRUE(stranger.status().IsNotFound());
  EXPECT_EQ(stranger.status().message(), "no model secret")
      << "a hidden model must fail exactly as a missing one";
  auto owner = repo->Lookup(kRootIno, "secret", User(1001, 9));
  ASSERT_TRUE(owner.ok()) << owner.status().ToString();
  EXPECT_EQ(owner->entry_timeout, 0.0) << "a cached dentry would answer other callers";

  // Listed but unreadable: the name shows, the kernel refuses by mode.
  access.hidden = false;
  SetAccess("secret", access);
  ASSERT_TRUE(repo->Refresh().ok());
  EXPECT_EQ(RootNames(*repo, User(5000, 9)), all);
  EXPECT_TRUE(repo->Lookup(kRootIno, "secret", User(5000, 9)).ok());
}

TEST_F(ModelOwnerTest, AChangeInvalidatesEveryCachedAttributeBelowTheModel) {
  auto repo = OpenRepo();
  const uint64_t model = WalkPath(*repo, "secret");
  const uint64_t version = WalkPath(*repo, "secret/1");
  const uint64_t file = WalkPath(*repo, "secret/1/model.onnx");
  const uint64_t other = WalkPath(*repo, "open/1/model.onnx");
  ModelAccess access;
  access.uid = 1001;
  SetAccess("secret", access);
  auto changes = repo->Refresh();
  ASSERT_TRUE(changes.ok()) << changes.status().ToString();
  auto invalidated = [&](uint64_t ino) {
    return std::any_of(changes->begin(), changes->end(), [&](const Invalidation& change) {
      return change.name.empty() && change.ino == ino;
    });
  };
  EXPECT_TRUE(invalidated(model));
  EXPECT_TRUE(invalidated(version));
  EXPECT_TRUE(invalidated(file));
  EXPECT_FALSE(invalidated(other));
  EXPECT_TRUE(std::any_of(changes->begin(), changes->end(), [](const Invalidation& change) {
    return change.parent == kRootIno && change.name == "secret";
  }));
  EXPECT_EQ(repo->GetAttr(file)->attr.st_uid, 1001u);
}

}  // namespace
}  // namespace re2po::fs
