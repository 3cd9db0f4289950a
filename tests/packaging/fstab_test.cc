// mount(8) and /etc/fstab with the build's binaries: `mount -t fuse.re2po`
// runs /sbin/mount.fuse.re2po (util-linux looks only in /sbin, and Debian 12
// has /sbin -> usr/sbin), which the package installs as a link to
// mount.re2po. Here the test links /sbin/mount.fuse.re2po and
// /sbin/mount.re2po to the build's helper for its duration (removed
// afterwards, even on failure), mounts a real store, reads a file back
// byte for byte and unmounts with umount(8). The remote line of
// docs/remote.md mounts too, with its endpoint pointed at a port that
// refuses connections: what a node does when it boots with the remote down.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sstream>

#include "tests/fs/mount_fixture.h"
#include "tests/packaging/packaging_fixture.h"

namespace re2po::testing {
namespace {

// /sbin/<name> -> the build's mount.re2po while this object lives. A link
// left by a killed run of these tests (pointing into a build tree) is
// replaced; anything else there (an installed package) is left alone.
class HelperLink {
 public:
  explicit HelperLink(const std::string& name) : path_(stdfs::path("/sbin") / name) {
    std::error_code ec;
    if (stdfs::is_symlink(path_, ec)) {
      const std::string target = stdfs::read_symlink(path_, ec).string();
      if (!target.ends_with("/tools/mount.re2po")) {
        error_ = path_.string() + " exists (-> " + target + "): an installed re2po?";
        return;
      }
      stdfs::remove(path_, ec);
    } else if (stdfs::exists(path_, ec)) {
      error_ = path_.string() + " exists and is not ours";
      return;
    }
    stdfs::create_symlink(BuiltTool("mount.re2po"), path_, ec);
    if (ec) error_ = "cannot create " + path_.string() + ": " + ec.message();
    created_ = !ec;
  }
  ~HelperLink() {
    std::error_code ec;
    if (created_ && stdfs::read_symlink(path_, ec) == BuiltTool("mount.re2po")) {
      stdfs::remove(path_, ec);
    }
  }
  HelperLink(const HelperLink&) = delete;
  HelperLink& operator=(const HelperLink&) = delete;
  const std::string& error() const { return error_; }

 private:
  stdfs::path path_;
  std::string error_;
  bool created_ = false;
};

// Processes whose command line names `mountpoint` (the helper's daemon).
bool DaemonRunsFor(const stdfs::path& mountpoint) {
  std::error_code ec;
  for (const auto& entry : stdfs::directory_iterator("/proc", ec)) {
    const std::string cmdline = ReadText(entry.path() / "cmdline");
    if (cmdline.find(mountpoint.string() + '\0') != std::string::npos &&
        cmdline.find("mount.") != std::string::npos) {
      return true;
    }
  }
  return false;
}

class FstabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "mount(8) with a helper needs root";
    REQUIRE_FUSE();
    if (FindProgram("mount").empty()) GTEST_SKIP() << "mount(8) is not installed";
    // One test at a time owns the /sbin links, across ctest -j processes.
    lock_ = std::make_unique<FileLock>(stdfs::temp_directory_path() / "re2po-sbin-helper.lock");
    for (const char* name : {"mount.fuse.re2po", "mount.re2po"}) {
      links_.push_back(std::make_unique<HelperLink>(name));
      if (!links_.back()->error().empty()) GTEST_SKIP() << links_.back()->error();
    }
    MakeStore();
    stdfs::create_directories(mountpoint_);
  }

  void TearDown() override {
    if (IsServedMount(mountpoint_)) ForceUnmount(mountpoint_);
  }

  // A store made with the built CLI: re2po init, then one imported version.
  void MakeStore() {
    const stdfs::path source = scratch_.path() / "source";
    stdfs::create_directories(source);
    weights_ = RandomBytes(3 * 1024 * 1024 + 17, 11);
    WriteFileBytes(source / "weights.bin", weights_);
    WriteFileText(source / "config.json", "{\"layers\": 2}\n");
    const std::string re2po =
        ShellQuote(BuiltTool("re2po")) + " --store " + ShellQuote(store_.string());
    ASSERT_EQ(RunCommand(re2po + " init").exit_code, 0);
    CommandResult imported = RunCommand(re2po + " import demo " + ShellQuote(source.string()));
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
  }

  // Reads the version back through the mount, then unmounts with umount(8).
  void ExpectServedThenUnmount() {
    ASSERT_TRUE(IsServedMount(mountpoint_)) << "mount(8) returned but nothing is mounted";
    const std::string type =
        Trim(RunCommand("findmnt -n -o FSTYPE " + ShellQuote(mountpoint_.string())).out);
    EXPECT_EQ(type, "fuse.re2po");
    EXPECT_EQ(ReadFileBytes(mountpoint_ / "demo" / "1" / "weights.bin"), weights_);
    EXPECT_EQ(ReadFileBytes(mountpoint_ / "demo" / "latest" / "weights.bin"), weights_);
    EXPECT_EQ(ReadText(mountpoint_ / "demo" / "1" / "config.json"), "{\"layers\": 2}\n");
    CommandResult unmounted = RunCommand("umount " + ShellQuote(mountpoint_.string()));
    EXPECT_EQ(unmounted.exit_code, 0) << unmounted.err;
    EXPECT_TRUE(WaitFor([&] { return !IsServedMount(mountpoint_); }));
    EXPECT_TRUE(WaitFor([&] { return !DaemonRunsFor(mountpoint_); }))
        << "the daemon outlived umount";
  }

  TempDir scratch_;
  stdfs::path store_ = scratch_.path() / "store";
  stdfs::path mountpoint_ = scratch_.path() / "models";
  std::vector<uint8_t> weights_;
  std::unique_ptr<FileLock> lock_;
  std::vector<std::unique_ptr<HelperLink>> links_;
};

TEST_F(FstabTest, MountTypeFuseRe2poServesTheStore) {
  CommandResult mounted = RunCommand("mount -t fuse.re2po " + ShellQuote(store_.string()) + " " +
                                     ShellQuote(mountpoint_.string()) + " -o ro,cache_size=64M");
  ASSERT_EQ(mounted.exit_code, 0) << mounted.out << mounted.err;
  ExpectServedThenUnmount();
}

TEST_F(FstabTest, MountTypeRe2poServesTheStore) {
  CommandResult mounted = RunCommand("mount -t re2po -o ro " + ShellQuote(store_.string()) + " " +
                                     ShellQuote(mountpoint_.string()));
  ASSERT_EQ(mounted.exit_code, 0) << mounted.out << mounted.err;
  ExpectServedThenUnmount();
}

TEST_F(FstabTest, FstabLineMountsByMountpoint) {
  // The documented line (docs/operations.md) with this test's paths, read by
  // `mount MOUNTPOINT` from an fstab given with -T instead of /etc/fstab.
  const stdfs::path fstab = scratch_.path() / "fstab";
  WriteFileText(fstab, "# test fstab\n" + store_.string() + " " + mountpoint_.string() +
                           " fuse.re2po ro,allow_other,cache_size=1G,_netdev 0 0\n");
  CommandResult mounted =
      RunCommand("mount -T " + ShellQuote(fstab.string()) + " " + ShellQuote(mountpoint_.string()));
  ASSERT_EQ(mounted.exit_code, 0) << mounted.out << mounted.err;
  ExpectServedThenUnmount();
}

// A TCP port on 127.0.0.1 that refuses connections for as long as this
// object lives: bound, never listening, so nobody else can take it.
class RefusingPort {
 public:
  RefusingPort() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&address), size) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size) == 0) {
      port_ = ntohs(address.sin_port);
    }
  }
  ~RefusingPort() {
    if (fd_ >= 0) ::close(fd_);
  }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

TEST_F(FstabTest, RemoteFstabLineMountsFromTheCacheWithTheRemoteDown) {
  // The documented line, with this test's mountpoint, key, cache and log.
  const std::vector<std::string> fields = RemoteFstabFields("docs/remote.md");
  ASSERT_EQ(fields.size(), 6u) << "no fstab line with an s3:// source in docs/remote.md";
  const stdfs::path key = scratch_.path() / "keys" / "publisher";
  stdfs::create_directories(key.parent_path());
  CommandResult made =
      RunCommand(ShellQuote(BuiltTool("re2po")) + " key generate " + ShellQuote(key.string()));
  ASSERT_EQ(made.exit_code, 0) << made.err;
  RefusingPort down;
  ASSERT_NE(down.port(), 0);
  const stdfs::path cache = scratch_.path() / "cache";
  const stdfs::path log = scratch_.path() / "node.log";
  const std::map<std::string, std::string> replaced = {
      {"endpoint", "http://127.0.0.1:" + std::to_string(down.port())},
      {"trust", key.string() + ".pub"},
      {"cache_dir", cache.string()},
      {"log_file", log.string()}};
  std::string options;
  std::istringstream list(fields[3]);
  for (std::string option; std::getline(list, option, ',');) {
    const auto value = replaced.find(option.substr(0, option.find('=')));
    if (value != replaced.end()) option = value->first + "=" + value->second;
    options += (options.empty() ? "" : ",") + option;
  }
  const stdfs::path fstab = scratch_.path() / "fstab";
  WriteFileText(fstab, fields[0] + " " + mountpoint_.string() + " " + fields[2] + " " + options +
                           " " + fields[4] + " " + fields[5] + "\n");
  // No AWS settings from whoever runs the test: anonymous, as documented
  // for a machine without credentials.
  CommandResult mounted = RunCommand(
      "env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=" + ShellQuote(scratch_.path().string()) +
      " mount -T " + ShellQuote(fstab.string()) + " " + ShellQuote(mountpoint_.string()));
  ASSERT_EQ(mounted.exit_code, 0) << mounted.out << mounted.err;
  ASSERT_TRUE(IsServedMount(mountpoint_));
  EXPECT_EQ(Trim(RunCommand("findmnt -n -o SOURCE " + ShellQuote(mountpoint_.string())).out),
            "re2po:" + fields[0]);
  // A new cache and no remote: an empty tree, and the log says why.
  EXPECT_TRUE(stdfs::is_empty(mountpoint_));
  const std::string said = ReadText(log);
  EXPECT_NE(said.find("does not answer"), std::string::npos) << said;
  EXPECT_NE(said.find("serving the 0 versions in the cache"), std::string::npos) << said;
  EXPECT_EQ(said.find("no trusted key"), std::string::npos) << "trust= was not applied";
  EXPECT_TRUE(stdfs::exists(cache / "db"));
  CommandResult unmounted = RunCommand("umount " + ShellQuote(mountpoint_.string()));
  EXPECT_EQ(unmounted.exit_code, 0) << unmounted.err;
  EXPECT_TRUE(WaitFor([&] { return !IsServedMount(mountpoint_); }));
  EXPECT_TRUE(WaitFor([&] { return !DaemonRunsFor(mountpoint_); })) << "the daemon outlived umount";
}

TEST_F(FstabTest, BadOptionFailsWithTheHelpersMessage) {
  CommandResult mounted = RunCommand("mount -t fuse.re2po " + ShellQuote(store_.string()) + " " +
                                     ShellQuote(mountpoint_.string()) + " -o cache_size=lots");
  EXPECT_NE(mounted.exit_code, 0);
  EXPECT_NE(mounted.err.find("bad size 'lots'"), std::string::npos) << mounted.err;
  EXPECT_FALSE(IsServedMount(mountpoint_));
}

TEST_F(FstabTest, MissingStoreFailsWithoutMounting) {
  CommandResult mounted =
      RunCommand("mount -t fuse.re2po " + ShellQuote((scratch_.path() / "nothing").string()) + " " +
                 ShellQuote(mountpoint_.string()));
  EXPECT_NE(mounted.exit_code, 0);
  EXPECT_NE(mounted.err.find("no store at"), std::string::npos) << mounted.err;
  EXPECT_FALSE(IsServedMount(mountpoint_));
}

}  // namespace
}  // namespace re2po::testing
