// The kernel's read-ahead window for a mount: raised to 1 MiB by default so a
// cold sequential read reaches the daemon in max_read-sized requests, set by
// -o kernel_readahead=, left at the kernel's 128 KiB by kernel_readahead=0.
// The daemon's metrics count the read requests the kernel sent.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fs/core/metrics_text.h"
#include "fs/fuse/kernel_readahead.h"
#include "fs/fuse/metrics_server.h"
#include "fs/fuse/mountinfo.h"
#include "tests/fs/mount_fixture.h"

namespace re2po::testing {
namespace {

constexpr size_t kFileBytes = size_t{16} << 20;
constexpr size_t kKernelDefault = size_t{128} << 10;

class KernelReadaheadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_FUSE();
    if (::geteuid() != 0) GTEST_SKIP() << "setting a mount's read_ahead_kb needs root";
    WriteFileBytes(store_.scratch() / "source" / "big.bin", RandomBytes(kFileBytes, 31));
    store_.Import("m", 1, store_.scratch() / "source");
    store_.CloseWriter();
  }

  std::string MetricsOption() const {
    return "metrics=" + (store_.scratch() / "metrics.sock").string();
  }

  // The read requests the daemon has answered so far.
  double ReadRequests() const {
    Result<std::string> text = fs::ScrapeMetrics((store_.scratch() / "metrics.sock").string());
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    return fs::ScrapedMetrics::Parse(text.ok() ? *text : "")
        .Value("re2po_fuse_requests_total", {{"operation", "read"}});
  }

  // Reads the file start to end in 1 MiB reads, as dd bs=1M does (smaller
  // reads would start the kernel's window small); its bytes must match.
  void ReadColdFile(const TestMount& mount) const {
    const int fd = ::open(mount.path("m/1/big.bin").c_str(), O_RDONLY);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    std::vector<uint8_t> bytes(kFileBytes + 1);
    size_t total = 0;
    ssize_t got = 0;
    do {
      got = ::read(fd, bytes.data() + total, std::min<size_t>(1 << 20, bytes.size() - total));
      total += got > 0 ? static_cast<size_t>(got) : 0;
    } while (got > 0 && total < bytes.size());
    const int read_errno = errno;
    ::close(fd);
    ASSERT_GE(got, 0) << std::strerror(read_errno);
    bytes.resize(total);
    EXPECT_EQ(bytes, RandomBytes(kFileBytes, 31));
  }

  static std::string ReadaheadText(const stdfs::path& mountpoint) {
    Result<size_t> current = fs::KernelReadahead(mountpoint);
    return current.ok() ? std::to_string(*current) + " bytes" : current.status().ToString();
  }

  static bool ReadaheadIs(const stdfs::path& mountpoint, size_t bytes) {
    Result<size_t> current = fs::KernelReadahead(mountpoint);
    return current.ok() && *current == bytes;
  }

  TestStore store_;
};

TEST_F(KernelReadaheadTest, AColdSequentialReadArrivesInMegabyteRequests) {
  TestMount::Options options;
  options.fuse_options = MetricsOption();
  TestMount mount(store_.dir(), options);
  START_MOUNT(mount);
  // A foreground mount answers before its readiness thread raises the window.
  ASSERT_TRUE(WaitFor([&] { return ReadaheadIs(mount.mountpoint(), 1 << 20); }))
      << "read-ahead is " << ReadaheadText(mount.mountpoint()) << "\n"
      << mount.Log();
  ReadColdFile(mount);
  const double reads = ReadRequests();
  EXPECT_GE(reads, 16);  // max_read is 1 MiB
  EXPECT_LE(reads, 24) << "the kernel asked in requests smaller than 1 MiB";
}

TEST_F(KernelReadaheadTest, ZeroLeavesTheKernelsWindowAndItsSmallRequests) {
  TestMount::Options options;
  options.fuse_options = MetricsOption() + ",kernel_readahead=0";
  TestMount mount(store_.dir(), options);
  START_MOUNT(mount);
  EXPECT_TRUE(ReadaheadIs(mount.mountpoint(), kKernelDefault));
  ReadColdFile(mount);
  EXPECT_GE(ReadRequests(), static_cast<double>(kFileBytes / kKernelDefault));
  EXPECT_TRUE(ReadaheadIs(mount.mountpoint(), kKernelDefault));
}

TEST_F(KernelReadaheadTest, TheOptionSetsTheWindow) {
  TestMount::Options options;
  options.fuse_options = "kernel_readahead=4M";
  TestMount mount(store_.dir(), options);
  START_MOUNT(mount);
  EXPECT_TRUE(WaitFor([&] { return ReadaheadIs(mount.mountpoint(), 4 << 20); }))
      << ReadaheadText(mount.mountpoint());
}

TEST_F(KernelReadaheadTest, MountInfoNamesTheMountsDevice) {
  TestMount mount(store_.dir());
  START_MOUNT(mount);
  Result<fs::MountInfoEntry> entry = fs::FindMount(mount.mountpoint(), fs::kRe2poMountType);
  ASSERT_TRUE(entry.ok()) << entry.status().ToString();
  struct stat st {};
  ASSERT_EQ(::stat(mount.mountpoint().c_str(), &st), 0);
  EXPECT_EQ(entry->device,
            std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev)));
  EXPECT_EQ(entry->source, "re2po:" + store_.dir().string());
  EXPECT_FALSE(fs::FindMount(mount.mountpoint(), "ext4").ok());
  EXPECT_FALSE(fs::FindMount(store_.scratch(), fs::kRe2poMountType).ok());
}

TEST(MountInfoTest, UnescapesOctalEscapesOnly) {
  EXPECT_EQ(fs::UnescapeMountInfoField(R"(/mnt/a\040b\011c\134d)"), "/mnt/a b\tc\\d");
  EXPECT_EQ(fs::UnescapeMountInfoField(R"(/mnt/\04)"), R"(/mnt/\04)");    // too short
  EXPECT_EQ(fs::UnescapeMountInfoField(R"(/mnt/\089)"), R"(/mnt/\089)");  // not octal
  EXPECT_EQ(fs::UnescapeMountInfoField("plain"), "plain");
}

}  // namespace
}  // namespace re2po::testing
