// Crash safety: an import killed with SIGKILL at 52 points (inside files,
// at file boundaries, just before and just after the commit) never leaves a
// partial version, never harms the versions stored before, can be rerun, and
// `gc` takes back what it left. A mount daemon killed with SIGKILL is
// cleared and replaced by the next `re2po mount`.
#include <fcntl.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/reliability/reliability_fixture.h"

namespace re2po::testing {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

struct SourceFile {
  std::string path;
  std::vector<uint8_t> bytes;
};

void WriteSource(const stdfs::path& root, const std::vector<SourceFile>& files) {
  for (const SourceFile& file : files) WriteFileBytes(root / file.path, file.bytes);
}

std::vector<uint8_t> Concat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

// Version 1 of the model (~24 MiB) and the import that is killed (~61 MiB
// in 6 files): one file identical to version 1, one edited in the middle and
// extended, one sharing a tensor with version 1, a file repeating a block
// (dedup inside the import), compressible text and fresh random bytes.
struct CrashModels {
  std::vector<SourceFile> base, killed;

  CrashModels() {
    auto a = RandomBytes(Scaled(8 * kMiB), 11);
    auto b = RandomBytes(Scaled(6 * kMiB), 12);
    auto w1 = RandomBytes(Scaled(4 * kMiB), 13);
    base = {{"a.bin", a},
            {"b.bin", b},
            {"notes.txt", CompressibleBytes(Scaled(2 * kMiB), 14)},
            {"model.safetensors", Safetensors({{"w1", w1}, {"w2", RandomBytes(w1.size(), 15)}})}};
    auto edited = b;
    auto patch = RandomBytes(Scaled(64 << 10), 16);
    std::copy(patch.begin(), patch.end(), edited.begin() + static_cast<long>(edited.size() / 2));
    auto block = RandomBytes(Scaled(4 * kMiB), 17);
    killed = {{"a.bin", a},
              {"b.bin", Concat({edited, RandomBytes(Scaled(kMiB), 18)})},
              {"d.bin", RandomBytes(Scaled(16 * kMiB), 19)},
              {"e.bin", Concat({block, block, block, RandomBytes(block.size(), 20)})},
              {"notes.txt", CompressibleBytes(Scaled(4 * kMiB), 21)},
              {"sub/model.safetensors", Safetensors({{"w1", w1},
                                                     {"w2", RandomBytes(w1.size(), 22)},
                                                     {"w3", RandomBytes(w1.size() / 2, 23)}})}};
  }
};

uint64_t TotalSize(const std::vector<SourceFile>& files) {
  uint64_t total = 0;
  for (const auto& file : files) total += file.bytes.size();
  return total;
}

// The crash points, in the order they run. Points inside files use
// chunk-bytes:N (per chunk); bytes:N fires only once per file (or 64 MiB
// window), so those are placed at each file's end; the commit points last,
// because what they leave durable makes later imports of the same files free.
// Sanitizer builds (RE2PO_TEST_SCALE=small) kill at every other point inside
// files: each kill there costs ten slow processes, and the release run
// covers all 44.
std::vector<std::string> CrashPoints(const std::vector<SourceFile>& killed) {
  std::vector<std::string> points;
  // a.bin is identical to a stored file, so it is never chunked.
  const uint64_t chunked = TotalSize(killed) - killed[0].bytes.size();
  constexpr int kInside = 44;
  const int stride = TestScale() < 1 ? 2 : 1;
  for (int k = 0; k < kInside; k += stride) {
    points.push_back("chunk-bytes:" + std::to_string(chunked * (2 * k + 1) / (2 * kInside)));
  }
  uint64_t end = 0;
  for (const SourceFile& file : killed) {  // the import's order: sorted paths
    end += file.bytes.size();
    points.push_back("bytes:" + std::to_string(end));
  }
  points.push_back("before-commit");
  points.push_back("after-commit");
  return points;
}

uint64_t DiskBytes(const CliStore& store) {
  auto stats = store.Json("stats");
  return stats.contains("disk_bytes") ? stats["disk_bytes"].get<uint64_t>() : 0;
}

TEST(CrashTest, ImportKilledAtFiftyTwoPointsLosesNothing) {
  TempDir temp;
  const stdfs::path base_src = temp.path() / "base", killed_src = temp.path() / "killed",
                    other_src = temp.path() / "other";
  CrashModels models;
  WriteSource(base_src, models.base);
  WriteSource(killed_src, models.killed);
  WriteSource(other_src, {{"w.bin", RandomBytes(Scaled(3 * kMiB), 30)},
                          {"cfg.json", CompressibleBytes(Scaled(kMiB), 31)}});
  const auto base_tree = DescribeTree(base_src), killed_tree = DescribeTree(killed_src),
             other_tree = DescribeTree(other_src);

  CliStore store(temp.path() / "store");
  ASSERT_EQ(store.Run("init").exit_code, 0);
  for (const auto& [ref, src] : {std::pair{"m@1", base_src}, std::pair{"other@1", other_src}}) {
    CommandResult result = store.Run(std::string("import ") + ref + " " + ShellQuote(src));
    ASSERT_EQ(result.exit_code, 0) << result.err;
  }
  ASSERT_EQ(store.Run("gc").exit_code, 0);
  const uint64_t disk_before = DiskBytes(store);
  ASSERT_GT(disk_before, 0u);

  const std::vector<std::string> points = CrashPoints(models.killed);
  ASSERT_GE(points.size(), TestScale() < 1 ? 30u : 52u);
  const auto started = std::chrono::steady_clock::now();
  int survived = 0;
  for (const std::string& point : points) {
    SCOPED_TRACE("crash point " + point);
    const bool committed = point == "after-commit";
    CommandResult killed =
        store.Run("import m@2 " + ShellQuote(killed_src.string()), "RE2PO_CRASH_POINT=" + point);
    ASSERT_EQ(killed.exit_code, 128 + SIGKILL)
        << "the import was not killed (point never reached?): " << killed.err;

    // No partial version: absent, or after the commit present and whole.
    EXPECT_EQ(store.Versions("m"), (committed ? std::set<uint64_t>{1, 2} : std::set<uint64_t>{1}));
    CommandResult verify = store.Run("verify");
    EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
    EXPECT_EQ(store.ExportDescribed("m@1", temp.path()), base_tree);
    EXPECT_EQ(store.ExportDescribed("other@1", temp.path()), other_tree);
    if (committed) {
      EXPECT_EQ(store.ExportDescribed("m@2", temp.path()), killed_tree);
    } else {
      // The same import, rerun on a copy of exactly what the kill left.
      const stdfs::path copy = temp.path() / "copy";
      stdfs::copy(store.dir(), copy, stdfs::copy_options::recursive);
      CliStore rerun(copy);
      CommandResult again = rerun.Run("import m@2 " + ShellQuote(killed_src.string()));
      EXPECT_EQ(again.exit_code, 0) << again.err;
      EXPECT_EQ(rerun.ExportDescribed("m@2", temp.path()), killed_tree);
      stdfs::remove_all(copy);
    }
    if (::testing::Test::HasFailure()) break;
    ++survived;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "[ figures  ] kill points survived: " << survived << " of " << points.size()
            << " in " << seconds << " s\n";
  ASSERT_EQ(survived, static_cast<int>(points.size()));

  // The committed version goes; gc must take back everything the kills left.
  ASSERT_EQ(store.Run("rm m@2").exit_code, 0);
  const uint64_t disk_leftovers = DiskBytes(store);
  CommandResult gc = store.Run("gc");
  ASSERT_EQ(gc.exit_code, 0) << gc.err;
  const uint64_t disk_after = DiskBytes(store);
  std::cout << "[ figures  ] store on disk: " << disk_before << " bytes before the kills, "
            << disk_leftovers << " with leftovers, " << disk_after << " after gc\n";
  EXPECT_LE(static_cast<double>(disk_after), static_cast<double>(disk_before) * 1.01)
      << gc.out << SnapshotDiff({}, SnapshotDir(store.dir()));

  // And the import, rerun on the store itself, works after all that.
  CommandResult final_import = store.Run("import m@2 " + ShellQuote(killed_src.string()));
  ASSERT_EQ(final_import.exit_code, 0) << final_import.err;
  EXPECT_EQ(store.ExportDescribed("m@2", temp.path()), killed_tree);
  EXPECT_EQ(store.Run("verify").exit_code, 0);
}

// Readers of a file while the daemon dies: errors are expected, wrong bytes never.
struct ReadTally {
  std::atomic<uint64_t> ok{0}, errors{0}, wrong{0};
};

void ReadUntil(const stdfs::path& file, const std::vector<uint8_t>& expected,
               const std::atomic<bool>& stop, ReadTally& tally, unsigned seed) {
  std::vector<uint8_t> buffer(256 << 10);
  uint64_t state = seed;
  while (!stop) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      ++tally.errors;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const off_t offset = static_cast<off_t>((state >> 33) % (expected.size() - buffer.size()));
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);  // make the read reach the daemon
    const ssize_t n = PreadFully(fd, buffer.data(), buffer.size(), offset);
    ::close(fd);
    if (n < 0) {
      ++tally.errors;
    } else if (std::memcmp(buffer.data(), expected.data() + offset, static_cast<size_t>(n)) != 0) {
      ++tally.wrong;
    } else {
      ++tally.ok;
    }
  }
}

// The crash points live only in the test builds: the shipped re2po links
// hooks that do nothing, so no environment can make it die mid-import.
TEST(CrashTest, ShippedProgramsIgnoreTheCrashPoints) {
  TempDir temp;
  const stdfs::path store_dir = temp.path() / "store";
  WriteFileBytes(temp.path() / "src/w.bin", RandomBytes(Scaled(2 * kMiB), 50));
  const std::string shipped =
      ShellQuote(BuiltTool("re2po")) + " --store " + ShellQuote(store_dir.string());
  ASSERT_EQ(RunCommand(shipped + " init").exit_code, 0);
  for (const char* point : {"before-commit", "after-commit", "bytes:1", "chunk-bytes:1"}) {
    const CommandResult imported =
        RunCommand(std::string("RE2PO_CRASH_POINT=") + point + " " + shipped + " import m " +
                   ShellQuote((temp.path() / "src").string()) + "; exit $?");
    EXPECT_EQ(imported.exit_code, 0) << point << ": " << imported.err;
  }
  CliStore store(store_dir);
  const CommandResult killed = store.Run("import m " + ShellQuote((temp.path() / "src").string()),
                                         "RE2PO_CRASH_POINT=before-commit");
  EXPECT_EQ(killed.exit_code, 128 + SIGKILL) << "the hooked build must still obey the point";
  const nlohmann::json versions = store.Json("ls m");
  ASSERT_EQ(versions.size(), 4u) << versions.dump();
  EXPECT_EQ(versions.back()["version"], 4);
}

TEST(CrashTest, KilledMountDaemonIsClearedByTheNextReMount) {
  REQUIRE_FUSE();
  TestStore test_store;
  const stdfs::path source = test_store.scratch() / "source";
  const std::vector<uint8_t> weights = RandomBytes(Scaled(8 * kMiB), 40);
  WriteFileBytes(source / "weights.bin", weights);
  test_store.Import("m", 1, source);
  test_store.CloseWriter();
  const stdfs::path mountpoint = test_store.scratch() / "mnt";
  stdfs::create_directories(mountpoint);
  UnmountGuard guard(mountpoint);
  const stdfs::path file = mountpoint / "m/1/weights.bin";

  ReadTally during_kill;
  {
    Child daemon({BuiltTool("re2po"), "--store", test_store.dir().string(), "mount",
                  mountpoint.string(), "--foreground"},
                 test_store.scratch() / "first.log");
    ASSERT_TRUE(WaitFor([&] { return IsServedMount(mountpoint); })) << "first mount never served";
    std::atomic<bool> stop{false};
    std::vector<std::jthread> readers;
    for (unsigned i = 0; i < 4; ++i) {
      readers.emplace_back([&, i] { ReadUntil(file, weights, stop, during_kill, i + 1); });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ASSERT_EQ(::kill(daemon.pid(), SIGKILL), 0);
    const int status = daemon.Wait();
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop = true;
  }
  EXPECT_EQ(during_kill.wrong, 0u);
  EXPECT_GT(during_kill.ok, 0u) << "no read succeeded before the kill";
  struct statfs info {};
  ASSERT_EQ(::statfs(mountpoint.c_str(), &info), -1);
  ASSERT_EQ(errno, ENOTCONN) << "the killed daemon did not leave a stale mount";

  const stdfs::path log = test_store.scratch() / "second.log";
  CliStore store(test_store.dir());
  CommandResult remount = store.Run("mount " + ShellQuote(mountpoint.string()) + " -o " +
                                    ShellQuote("log_file=" + log.string()));
  ASSERT_EQ(remount.exit_code, 0) << remount.err;
  std::ifstream log_in(log);
  const std::string said =
      remount.out + remount.err + std::string(std::istreambuf_iterator<char>(log_in), {});
  EXPECT_NE(said.find("stale mount"), std::string::npos) << "the recovery was not reported:\n"
                                                         << said;
  ASSERT_TRUE(IsServedMount(mountpoint));
  EXPECT_EQ(ReadFileBytes(file), weights);

  ReadTally after;
  std::atomic<bool> stop{false};
  {
    std::vector<std::jthread> readers;
    for (unsigned i = 0; i < 4; ++i) {
      readers.emplace_back([&, i] { ReadUntil(file, weights, stop, after, i + 11); });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    stop = true;
  }
  std::cout << "[ figures  ] reads while the daemon died: " << during_kill.ok << " ok, "
            << during_kill.errors << " errors, " << during_kill.wrong << " wrong; after remount "
            << after.ok << " ok, " << after.errors << " errors\n";
  EXPECT_EQ(after.errors, 0u);
  EXPECT_EQ(after.wrong, 0u);
  EXPECT_GT(after.ok, 0u);
}

}  // namespace
}  // namespace re2po::testing
