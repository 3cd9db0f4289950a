// Concurrency: an import while eight threads read other versions through the
// mount (no error, no wrong byte, the new version appears whole); two
// imports started at once (both succeed, one after the other); `rm` and `gc`
// while files of the removed version are open and being read (right bytes
// or EIO, never wrong bytes; other versions unaffected).
#include <atomic>
#include <barrier>
#include <random>
#include <thread>

#include "tests/reliability/reliability_fixture.h"

namespace re2po::testing {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

struct Tally {
  std::atomic<uint64_t> ok{0}, eio{0}, other_errors{0}, wrong{0};
  std::string first_problem;
  std::mutex mutex;
  void Problem(const std::string& text) {
    std::lock_guard lock(mutex);
    if (first_problem.empty()) first_problem = text;
  }
};

// One random read of `expected` through `fd`, after dropping the page cache
// so that it reaches the daemon.
void ReadOnce(int fd, const std::string& name, const std::vector<uint8_t>& expected,
              std::mt19937_64& random, Tally& tally) {
  std::vector<uint8_t> buffer((size_t{1} << 17) << (random() % 4));  // 128 KiB .. 1 MiB
  buffer.resize(std::min(buffer.size(), expected.size()));
  const off_t offset = static_cast<off_t>(random() % (expected.size() - buffer.size() + 1));
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  const ssize_t n = PreadFully(fd, buffer.data(), buffer.size(), offset);
  if (n == -EIO) {
    ++tally.eio;
  } else if (n < 0) {
    ++tally.other_errors;
    tally.Problem(name + ": " + std::strerror(static_cast<int>(-n)));
  } else if (static_cast<size_t>(n) != buffer.size() ||
             std::memcmp(buffer.data(), expected.data() + offset, buffer.size()) != 0) {
    ++tally.wrong;
    tally.Problem(name + ": wrong bytes at " + std::to_string(offset));
  } else {
    ++tally.ok;
  }
}

using Files = std::map<std::string, std::vector<uint8_t>>;  // mount-relative path -> bytes

void ReadRandomFiles(const TestMount& mount, const Files& files, unsigned seed,
                     const std::atomic<bool>& stop, Tally& tally) {
  std::mt19937_64 random(seed);
  std::vector<const Files::value_type*> all;
  for (const auto& file : files) all.push_back(&file);
  while (!stop) {
    const auto& [name, bytes] = *all[random() % all.size()];
    const int fd = ::open(mount.path(name).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      ++tally.other_errors;
      tally.Problem("open " + name + ": " + std::strerror(errno));
      continue;
    }
    ReadOnce(fd, name, bytes, random, tally);
    ::close(fd);
  }
}

Files WriteModel(const stdfs::path& dir, const std::string& mount_prefix, uint64_t seed,
                 size_t files) {
  Files written;
  for (size_t i = 0; i < files; ++i) {
    const std::string name = "part-" + std::to_string(i) + (i % 3 == 2 ? ".txt" : ".bin");
    auto bytes = i % 3 == 2 ? CompressibleBytes(Scaled(2 * kMiB), seed + i)
                            : RandomBytes(Scaled(4 * kMiB), seed + i);
    WriteFileBytes(dir / name, bytes);
    written[mount_prefix + "/" + name] = std::move(bytes);
  }
  return written;
}

TEST(ConcurrencyTest, ImportWhileEightReadersReadOtherVersions) {
  REQUIRE_FUSE();
  TestStore store;
  Files files = WriteModel(store.scratch() / "m1", "m/1", 100, 4);
  files.merge(WriteModel(store.scratch() / "n1", "n/1", 200, 3));
  store.Import("m", 1, store.scratch() / "m1");
  store.Import("n", 1, store.scratch() / "n1");
  store.CloseWriter();
  const stdfs::path incoming = store.scratch() / "incoming";
  WriteModel(incoming, "new/1", 300, 9);  // ~30 MiB
  stdfs::copy(store.scratch() / "m1" / "part-0.bin", incoming / "shared.bin");

  TestMount mount(store.dir(), {"cache_size=8M"});  // smaller than the data: reads reach the store
  START_MOUNT(mount);
  Tally tally;
  std::atomic<bool> stop{false};
  std::string partial;
  std::atomic<int> seen_whole{0};
  std::vector<std::jthread> readers;
  for (unsigned i = 0; i < 8; ++i) {
    readers.emplace_back([&, i] { ReadRandomFiles(mount, files, 1000 + i, stop, tally); });
  }
  std::jthread watcher([&] {
    while (!stop) {
      std::error_code error;  // a dead mount must fail the test, not abort it
      if (stdfs::exists(mount.path("new/1"), error)) {
        const std::string diff = CompareTrees(incoming, mount.path("new/1"));
        if (!diff.empty() && partial.empty()) partial = diff;
        ++seen_whole;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const uint64_t reads_before = tally.ok;
  CommandResult import = CliStore(store.dir()).Run("import new@1 " + ShellQuote(incoming));
  const uint64_t reads_during = tally.ok - reads_before;
  const bool appeared = WaitFor(
      [&] {
        std::error_code error;
        return stdfs::exists(mount.path("new/1"), error);
      },
      std::chrono::seconds(10));
  WaitFor([&] { return seen_whole >= 2; }, std::chrono::seconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  readers.clear();
  watcher.join();

  std::cout << "[ figures  ] 8 readers during an import: " << tally.ok << " reads (" << reads_during
            << " while it ran), " << tally.eio + tally.other_errors << " errors, " << tally.wrong
            << " wrong\n";
  EXPECT_EQ(import.exit_code, 0) << import.err;
  EXPECT_EQ(tally.eio + tally.other_errors, 0u) << tally.first_problem;
  EXPECT_EQ(tally.wrong, 0u) << tally.first_problem;
  EXPECT_GT(reads_during, 0u) << "no read overlapped the import";
  ASSERT_TRUE(appeared) << "new@1 not visible 10 s after its import";
  EXPECT_EQ(partial, "") << "new@1 was visible before it was whole";
  EXPECT_EQ(CompareTrees(incoming, mount.path("new/1")), "");
}

TEST(ConcurrencyTest, TwoImportsStartedAtOnceBothSucceed) {
  TempDir temp;
  CliStore store(temp.path() / "store");
  ASSERT_EQ(store.Run("init").exit_code, 0);
  const stdfs::path sources[2] = {temp.path() / "s0", temp.path() / "s1"};
  WriteModel(sources[0], "", 400, 4);
  WriteModel(sources[1], "", 500, 4);

  CommandResult results[2];
  std::barrier start(2);
  {
    std::vector<std::jthread> imports;
    for (int i = 0; i < 2; ++i) {
      imports.emplace_back([&, i] {
        start.arrive_and_wait();
        results[i] = store.Run("import m " + ShellQuote(sources[i]) + " --json");
      });
    }
  }
  std::map<uint64_t, int> version_of_source;  // version -> source index
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(results[i].exit_code, 0) << results[i].err;
    auto summary = nlohmann::json::parse(results[i].out, nullptr, false);
    ASSERT_TRUE(summary.contains("version")) << results[i].out;
    version_of_source[summary["version"].get<uint64_t>()] = i;
  }
  EXPECT_EQ(store.Versions("m"), (std::set<uint64_t>{1, 2}));
  ASSERT_EQ(version_of_source.size(), 2u) << "both imports claimed the same version";
  for (const auto& [version, source] : version_of_source) {
    EXPECT_EQ(store.ExportDescribed("m@" + std::to_string(version), temp.path()),
              DescribeTree(sources[source]));
  }
  const bool waited = results[0].err.find("waiting") != std::string::npos ||
                      results[1].err.find("waiting") != std::string::npos;
  std::cout << "[ figures  ] two imports at once: versions 1 and 2 committed; "
            << (waited ? "the second said it was waiting" : "they did not overlap") << "\n";
  EXPECT_EQ(store.Run("verify").exit_code, 0);
}

TEST(ConcurrencyTest, RmAndGcWhileFilesAreOpenNeverReturnWrongBytes) {
  REQUIRE_FUSE();
  TestStore store;
  const stdfs::path gone = store.scratch() / "gone", keep = store.scratch() / "keep";
  const auto own = RandomBytes(Scaled(6 * kMiB), 600), shared = RandomBytes(Scaled(3 * kMiB), 601);
  const auto kept = RandomBytes(Scaled(3 * kMiB), 602);
  WriteFileBytes(gone / "own.bin", own);
  WriteFileBytes(gone / "shared.bin", shared);
  WriteFileBytes(keep / "shared.bin", shared);
  WriteFileBytes(keep / "kept.bin", kept);
  store.Import("gone", 1, gone);
  store.Import("keep", 1, keep);
  store.CloseWriter();

  TestMount mount(store.dir(), {"cache_size=0"});  // every read reaches the store
  START_MOUNT(mount);
  const std::vector<std::pair<std::string, const std::vector<uint8_t>*>> open_files = {
      {"gone/1/own.bin", &own}, {"gone/1/shared.bin", &shared}};
  std::vector<int> fds;
  for (const auto& [name, bytes] : open_files) {
    fds.push_back(::open(mount.path(name).c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_GE(fds.back(), 0) << name;
  }
  Tally removed[2], others;  // own.bin, shared.bin (still used by keep@1); keep@1
  std::atomic<bool> stop{false};
  {
    // Declared before the readers, so that it outlives their join.
    const Files kept_files = {{"keep/1/shared.bin", shared}, {"keep/1/kept.bin", kept}};
    std::vector<std::jthread> readers;
    for (unsigned i = 0; i < 4; ++i) {
      readers.emplace_back([&, i] {
        std::mt19937_64 random(700 + i);
        while (!stop) {
          const size_t which = random() % open_files.size();
          ReadOnce(fds[which], open_files[which].first, *open_files[which].second, random,
                   removed[which]);
        }
      });
    }
    for (unsigned i = 0; i < 2; ++i) {
      readers.emplace_back([&, i] { ReadRandomFiles(mount, kept_files, 800 + i, stop, others); });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CliStore cli(store.dir());
    CommandResult rm = cli.Run("rm gone@1");
    EXPECT_EQ(rm.exit_code, 0) << rm.err;
    EXPECT_TRUE(
        WaitFor([&] { return !stdfs::exists(mount.path("gone/1")); }, std::chrono::seconds(10)));
    CommandResult gc = cli.Run("gc");
    EXPECT_EQ(gc.exit_code, 0) << gc.err;
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // two refreshes after gc
    stop = true;
  }
  for (int fd : fds) ::close(fd);
  std::cout << "[ figures  ] open files of a removed version through rm + gc: own.bin "
            << removed[0].ok << " right, " << removed[0].eio << " EIO, " << removed[0].wrong
            << " wrong; shared.bin " << removed[1].ok << " right, " << removed[1].eio << " EIO, "
            << removed[1].wrong << " wrong; other version: " << others.ok << " right, "
            << others.eio + others.other_errors << " errors\n";
  for (Tally& tally : removed) {
    EXPECT_EQ(tally.wrong, 0u) << tally.first_problem;
    EXPECT_EQ(tally.other_errors, 0u) << tally.first_problem;
    EXPECT_GT(tally.ok, 0u);
  }
  EXPECT_EQ(others.wrong + others.eio + others.other_errors, 0u) << others.first_problem;
  EXPECT_GT(others.ok, 0u);
}

}  // namespace
}  // namespace re2po::testing
