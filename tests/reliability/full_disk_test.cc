// Full disk: a store on a 64 MiB filesystem is filled by imports until one
// fails. That import must fail cleanly (exit 1, a message about space), the
// store must still open with every earlier version intact, and `gc` must
// give back what the failed import wrote, so that a small import succeeds.
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cctype>

#include "tests/reliability/reliability_fixture.h"

namespace re2po::testing {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

// A small filesystem mounted for the test: a loop-mounted ext4 image, else a
// tmpfs with size=; unmounted in the destructor.
class SmallFilesystem {
 public:
  explicit SmallFilesystem(size_t bytes) : root_(temp_.path() / "fs") {
    stdfs::create_directories(root_);
    if (::geteuid() != 0) {
      why_not_ = "mounting a small filesystem needs root";
      return;
    }
    const stdfs::path image = temp_.path() / "fs.img";
    const std::string size = std::to_string(bytes / kMiB) + "M";
    CommandResult ext4 = RunCommand(
        "truncate -s " + size + " " + ShellQuote(image) + " && mkfs.ext4 -q -F " +
        ShellQuote(image) + " && mount -o loop " + ShellQuote(image) + " " + ShellQuote(root_));
    if (ext4.exit_code == 0) {
      kind_ = "ext4 on a loop device";
    } else if (::mount("tmpfs", root_.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0) {
      kind_ = "tmpfs";
    } else {
      why_not_ = "neither a loop-mounted ext4 (" + ext4.err +
                 ") nor a tmpfs could be mounted: " + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~SmallFilesystem() {
    if (mounted_ && ::umount(root_.c_str()) != 0) ::umount2(root_.c_str(), MNT_DETACH);
  }
  SmallFilesystem(const SmallFilesystem&) = delete;
  SmallFilesystem& operator=(const SmallFilesystem&) = delete;

  const std::string& why_not() const { return why_not_; }
  const std::string& kind() const { return kind_; }
  const stdfs::path& root() const { return root_; }
  uint64_t FreeBytes() const {
    struct statvfs info {};
    return ::statvfs(root_.c_str(), &info) == 0 ? uint64_t(info.f_bavail) * info.f_frsize : 0;
  }

 private:
  TempDir temp_;
  stdfs::path root_;
  bool mounted_ = false;
  std::string kind_, why_not_;
};

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// The size of the filesystem in MiB. 64 MiB is the size the issue asks for;
// 256 MiB leaves room for what RocksDB preallocates (docs/reliability.md),
// so the rest of the behaviour is checked even while 64 MiB fails at init.
class FullDiskTest : public ::testing::TestWithParam<size_t> {};

TEST_P(FullDiskTest, FillingTheDiskFailsCleanlyAndGcGivesTheSpaceBack) {
  SmallFilesystem small(GetParam() * kMiB);
  if (!small.why_not().empty()) GTEST_SKIP() << small.why_not();
  TempDir sources;  // outside the small filesystem
  CliStore store(small.root() / "store");
  CommandResult init = store.Run("init");
  ASSERT_EQ(init.exit_code, 0) << "init on an empty " << GetParam() << " MiB " << small.kind()
                               << " failed: " << init.err;

  // Random bytes: they do not compress, so each import takes its full size.
  std::map<uint64_t, std::map<std::string, std::string>> imported;  // version -> tree
  auto make_source = [&](uint64_t version, size_t bytes) {
    const stdfs::path dir = sources.path() / ("v" + std::to_string(version));
    WriteFileBytes(dir / "a.bin", RandomBytes(bytes / 2, 900 + version));
    WriteFileBytes(dir / "b.bin", RandomBytes(bytes / 2, 950 + version));
    return dir;
  };
  const stdfs::path first = make_source(1, 4 * kMiB);
  ASSERT_EQ(store.Run("import m@1 " + ShellQuote(first)).exit_code, 0);
  imported[1] = DescribeTree(first);

  CommandResult failed;
  uint64_t failed_version = 0, free_before_failure = 0;
  const uint64_t last_try = 2 + GetParam() / 12 + 4;
  for (uint64_t version = 2; version <= last_try; ++version) {
    const stdfs::path source = make_source(version, 12 * kMiB);
    free_before_failure = small.FreeBytes();
    CommandResult result =
        store.Run("import m@" + std::to_string(version) + " " + ShellQuote(source));
    if (result.exit_code != 0) {
      failed = result;
      failed_version = version;
      break;
    }
    imported[version] = DescribeTree(source);
  }
  ASSERT_NE(failed_version, 0u) << "all imports fitted on " << small.kind();
  std::cout << "[ figures  ] " << small.kind() << ": import " << failed_version << " failed with "
            << small.FreeBytes() << " bytes free: " << failed.err;
  EXPECT_EQ(failed.exit_code, 1) << "not a clean failure: " << failed.err;
  EXPECT_NE(Lower(failed.err).find("space"), std::string::npos)
      << "the error does not mention space: " << failed.err;

  // The store opens; the earlier versions are there, intact. The failed
  // version is absent, or whole if the failure came after its commit.
  std::set<uint64_t> expected_versions;
  for (const auto& [version, tree] : imported) expected_versions.insert(version);
  const std::set<uint64_t> present = store.Versions("m");
  if (present.contains(failed_version)) {
    std::cout << "note: m@" << failed_version << " was committed before the failure\n";
    imported[failed_version] =
        DescribeTree(sources.path() / ("v" + std::to_string(failed_version)));
    expected_versions.insert(failed_version);
  }
  EXPECT_EQ(present, expected_versions);
  CommandResult verify = store.Run("verify");
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  for (const auto& [version, tree] : imported) {
    EXPECT_EQ(store.ExportDescribed("m@" + std::to_string(version), sources.path()), tree)
        << "m@" << version;
  }

  // gc removes what the failed import wrote; then a small import fits.
  CommandResult gc = store.Run("gc");
  EXPECT_EQ(gc.exit_code, 0) << gc.out << gc.err;
  const uint64_t free_after_gc = small.FreeBytes();
  std::cout << "[ figures  ] free bytes: " << free_before_failure << " before the failed import, "
            << free_after_gc << " after gc\n";
  EXPECT_GE(free_after_gc + 2 * kMiB, free_before_failure)
      << "gc did not give back the failed import's space";
  const stdfs::path last = make_source(99, kMiB);
  CommandResult small_import = store.Run("import m@99 " + ShellQuote(last));
  EXPECT_EQ(small_import.exit_code, 0) << small_import.err;
  EXPECT_EQ(store.ExportDescribed("m@99", sources.path()), DescribeTree(last));
  EXPECT_EQ(store.Run("verify").exit_code, 0);
}

INSTANTIATE_TEST_SUITE_P(Size, FullDiskTest, ::testing::Values(64, 256),
                         [](const auto& param_info) {
                           return std::to_string(param_info.param) + "MiB";
                         });

}  // namespace
}  // namespace re2po::testing
