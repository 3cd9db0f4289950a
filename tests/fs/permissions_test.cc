// A model's access enforced by the kernel on a real mount (allow_other,
// default_permissions), against real processes running under other uids
// (setpriv): the owner and the group read byte-identical files, anyone else
// gets EACCES, a hidden model is not even listed, and `re2po access set` on
// a mounted store takes effect without a remount.
#include <sys/stat.h>

#include "tests/fs/mount_fixture.h"

namespace re2po::testing {
namespace {

constexpr const char* kOwner = "1001";
constexpr const char* kGroup = "2002";

class PermissionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_FUSE();
    if (::geteuid() != 0) GTEST_SKIP() << "running processes as other uids needs root";
    if (RunCommand("command -v setpriv").exit_code != 0) {
      GTEST_SKIP() << "setpriv (util-linux) is not installed";
    }
    source_ = store_.scratch() / "source";
    WriteFileBytes(source_ / "model.onnx", RandomBytes(3 << 20, 11));
    stdfs::permissions(source_ / "model.onnx", stdfs::perms(0644));
    store_.Import("secret", 1, source_);
    store_.Import("open", 1, source_);
    store_.CloseWriter();
    mount_ = std::make_unique<TestMount>(store_.dir(), TestMount::Options{"allow_other"});
    // Other users must be able to walk down to the mountpoint.
    stdfs::permissions(mount_->mountpoint().parent_path(), stdfs::perms(0755));
    START_MOUNT(*mount_);
  }

  CommandResult Re2po(const std::string& arguments) {
    return RunCommand(ShellQuote(BuiltTool("re2po")) + " --store " +
                      ShellQuote(store_.dir().string()) + " " + arguments);
  }

  // `command` run by a process with exactly these ids (no supplementary groups
  // unless given), as a function container's would be.
  static CommandResult As(const std::string& uid, const std::string& gid,
                          const std::string& command, const std::string& groups = "") {
    const std::string group_option =
        groups.empty() ? "--clear-groups" : "--groups " + ShellQuote(groups);
    return RunCommand("setpriv --reuid=" + uid + " --regid=" + gid + " " + group_option +
                      " -- sh -c " + ShellQuote(command));
  }

  std::string MountedFile(const std::string& model) const {
    return ShellQuote(mount_->path(model + "/1/model.onnx").string());
  }

  std::string SourceSha() const { return Sha256Hex(source_ / "model.onnx"); }

  TestStore store_;
  stdfs::path source_;
  std::unique_ptr<TestMount> mount_;
};

TEST_F(PermissionsTest, OwnerAndGroupReadOthersAreRefusedAndHiddenNamesDoNotLeak) {
  CommandResult set = Re2po(std::string("access set secret --owner ") + kOwner + " --group " +
                            kGroup + " --mode 0750 --hidden");
  ASSERT_EQ(set.exit_code, 0) << set.err;
  const std::string root = ShellQuote(mount_->mountpoint().string());
  // The mount polls the store: wait until the stranger no longer sees the
  // name, neither listed nor looked up. The refresh swaps the catalog and
  // then tells the kernel to forget the name's dentry (cached for a second
  // while the model was not hidden); until it has, a path walk through that
  // dentry is refused by the directory's new mode (EACCES) rather than not
  // found.
  const std::string secret_dir = ShellQuote(mount_->path("secret").string());
  ASSERT_TRUE(WaitFor(
      [&] {
        return As("5000", "9", "ls " + root).out.find("secret") == std::string::npos &&
               As("5000", "9", "stat " + secret_dir).err.find("No such file or directory") !=
                   std::string::npos;
      },
      std::chrono::seconds(60)))
      << As("5000", "9", "ls " + root).out << As("5000", "9", "stat " + secret_dir).err;

  const std::string sha = "sha256sum < ";
  const CommandResult owner = As(kOwner, "9", sha + MountedFile("secret"));
  ASSERT_EQ(owner.exit_code, 0) << owner.err;
  EXPECT_EQ(owner.out.substr(0, 64), SourceSha());
  const CommandResult group = As("5000", kGroup, sha + MountedFile("secret"));
  ASSERT_EQ(group.exit_code, 0) << group.err;
  EXPECT_EQ(group.out.substr(0, 64), SourceSha());
  const CommandResult supplementary = As("5000", "9", sha + MountedFile("secret"), kGroup);
  ASSERT_EQ(supplementary.exit_code, 0) << supplementary.err;
  EXPECT_EQ(supplementary.out.substr(0, 64), SourceSha());

  const CommandResult stranger = As("5000", "9", "cat " + MountedFile("secret") + " > /dev/null");
  EXPECT_NE(stranger.exit_code, 0);
  EXPECT_NE(stranger.err.find("No such file or directory"), std::string::npos) << stranger.err;
  EXPECT_EQ(As("5000", "9", "ls " + root).out, "open\n");
  EXPECT_EQ(As(kOwner, "9", "ls " + root).out, "open\nsecret\n");
  // The open model is everyone's, and the owner's listing did not leak the
  // name into a dentry the stranger could reuse.
  const CommandResult open = As("5000", "9", sha + MountedFile("open"));
  ASSERT_EQ(open.exit_code, 0) << open.err;
  EXPECT_EQ(open.out.substr(0, 64), SourceSha());
  EXPECT_NE(As("5000", "9", "stat " + ShellQuote(mount_->path("secret").string())).exit_code, 0);

  const CommandResult modes = As(kOwner, "9",
                                 "stat -c '%a %u %g' " + MountedFile("secret") + " " +
                                     ShellQuote(mount_->path("secret").string()));
  EXPECT_EQ(modes.out, "640 1001 2002\n750 1001 2002\n");
}

TEST_F(PermissionsTest, ListedButUnreadableThenOpenedWithoutARemount) {
  CommandResult set = Re2po("access set secret --owner " + std::string(kOwner) + " --mode 0700");
  ASSERT_EQ(set.exit_code, 0) << set.err;
  const std::string root = ShellQuote(mount_->mountpoint().string());
  const std::string read_secret = "sha256sum < " + MountedFile("secret");
  ASSERT_TRUE(WaitFor([&] { return As("5000", "9", read_secret).exit_code != 0; },
                      std::chrono::seconds(60)));
  const CommandResult refused = As("5000", "9", read_secret);
  EXPECT_NE(refused.err.find("Permission denied"), std::string::npos) << refused.err;
  EXPECT_EQ(As("5000", "9", "ls " + root).out, "open\nsecret\n");  // listed: not hidden
  // The owner reads it, so the kernel caches the file's attributes (0600)
  // for the content timeout, an hour.
  const CommandResult owner = As(kOwner, "9", read_secret);
  ASSERT_EQ(owner.exit_code, 0) << owner.err;

  // Opened to everyone: the kernel must drop the attributes it cached.
  set = Re2po("access set secret --mode 0755");
  ASSERT_EQ(set.exit_code, 0) << set.err;
  ASSERT_TRUE(WaitFor([&] { return As("5000", "9", read_secret).exit_code == 0; },
                      std::chrono::seconds(60)))
      << As("5000", "9", read_secret).err;
  EXPECT_EQ(As("5000", "9", read_secret).out.substr(0, 64), SourceSha());

  CommandResult shown = Re2po("access show secret --json");
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("\"mode\": \"0755\""), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("\"uid\": 1001"), std::string::npos) << shown.out;
}

}  // namespace
}  // namespace re2po::testing
