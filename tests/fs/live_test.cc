// The mount follows the store while mounted: an imported version appears
// whole (never partially) without a remount, and a removed one disappears
// while files already open keep reading correct bytes or fail with EIO,
// never wrong bytes, also after gc.
#include <atomic>

#include "tests/fs/mount_fixture.h"

namespace re2po::testing {
namespace {

using Clock = std::chrono::steady_clock;

void MakeVersion(const stdfs::path& dir, uint64_t seed) {
  WriteFileText(dir / "config.json", "{\"seed\": " + std::to_string(seed) + "}\n");
  WriteFileBytes(dir / "weights" / "a.bin", RandomBytes(3 << 20, seed));
  WriteFileBytes(dir / "weights" / "b.bin", RandomBytes((1 << 20) + 17, seed + 1));
  WriteFileBytes(dir / "empty", {});
}

// Every file of `source` present under `mounted` with its full size and bytes.
std::string Incomplete(const stdfs::path& source, const stdfs::path& mounted) {
  for (const auto& entry : stdfs::recursive_directory_iterator(source)) {
    if (!entry.is_regular_file()) continue;
    const stdfs::path relative = stdfs::relative(entry.path(), source);
    std::error_code ec;
    const auto size = stdfs::file_size(mounted / relative, ec);
    if (ec) return relative.string() + ": " + ec.message();
    if (size != entry.file_size()) return relative.string() + ": short";
    if (Sha256Hex(mounted / relative) != Sha256Hex(entry.path())) {
      return relative.string() + ": wrong bytes";
    }
  }
  return "";
}

TEST(LiveTest, ImportedVersionAppearsWholeWithoutRemount) {
  REQUIRE_FUSE();
  TestStore store;
  const stdfs::path v1 = store.scratch() / "v1", v2 = store.scratch() / "v2";
  MakeVersion(v1, 1);
  MakeVersion(v2, 2);
  store.Import("live", 1, v1);
  TestMount mount(store.dir());
  START_MOUNT(mount);

  // The poller checks, every 100 ms, that whenever version 2 is visible it is complete.
  std::atomic<bool> stop{false};
  std::atomic<int> checks_while_visible{0};
  std::string partial;
  std::thread poller([&] {
    while (!stop) {
      if (stdfs::exists(mount.path("live/2"))) {
        std::string problem = Incomplete(v2, mount.path("live/2"));
        if (!problem.empty() && partial.empty()) partial = problem;
        ++checks_while_visible;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  const auto imported_at = [&] {
    store.Import("live", 2, v2);
    return Clock::now();
  }();
  const bool appeared =
      WaitFor([&] { return stdfs::exists(mount.path("live/2")); }, std::chrono::seconds(10));
  const auto latency =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - imported_at);
  WaitFor([&] { return checks_while_visible >= 3; }, std::chrono::seconds(10));
  stop = true;
  poller.join();
  ASSERT_TRUE(appeared) << "version 2 not visible 10 s after its import";
  RecordProperty("appear_ms", static_cast<int>(latency.count()));
  std::cout << "version visible " << latency.count() << " ms after Import returned\n";
  EXPECT_EQ(partial, "") << "a partial version was visible";
  EXPECT_EQ(Incomplete(v2, mount.path("live/2")), "");
  EXPECT_TRUE(WaitFor([&] { return stdfs::read_symlink(mount.path("live/latest")) == "2"; },
                      std::chrono::seconds(10)));
  // A new model appears in the root listing too.
  store.Import("other", 5, v1);
  EXPECT_TRUE(WaitFor([&] { return stdfs::exists(mount.path("other/5/config.json")); },
                      std::chrono::seconds(10)));
}

// Reads the whole of `expected` through `fd` in 256 KiB preads; each read must
// give the right bytes or fail with EIO. Returns the number of EIO reads.
int ReadCorrectOrEio(int fd, const std::vector<uint8_t>& expected, std::string& wrong) {
  int eio = 0;
  std::vector<uint8_t> buffer(256 << 10);
  for (size_t offset = 0; offset < expected.size(); offset += buffer.size()) {
    const ssize_t got = PreadFully(fd, buffer.data(), buffer.size(), static_cast<off_t>(offset));
    if (got == -EIO) {
      ++eio;
      continue;
    }
    const size_t want = std::min(buffer.size(), expected.size() - offset);
    if (got != static_cast<ssize_t>(want) ||
        std::memcmp(buffer.data(), expected.data() + offset, want) != 0) {
      wrong = "wrong result at offset " + std::to_string(offset) + " (" + std::to_string(got) + ")";
      return eio;
    }
  }
  return eio;
}

TEST(LiveTest, RemovedVersionDisappearsButOpenFilesNeverReadWrongBytes) {
  REQUIRE_FUSE();
  TestStore store;
  const stdfs::path v1 = store.scratch() / "v1", v2 = store.scratch() / "v2";
  MakeVersion(v1, 10);
  MakeVersion(v2, 20);
  store.Import("gone", 1, v1);
  store.Import("gone", 2, v2);
  TestMount mount(store.dir(), {"cache_size=0"});  // every read after a cache drop hits the store
  START_MOUNT(mount);

  const std::vector<uint8_t> expected = ReadFileBytes(v1 / "weights" / "a.bin");
  const int fd = ::open(mount.path("gone/1/weights/a.bin").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  std::vector<uint8_t> head(1 << 20);
  ASSERT_EQ(PreadFully(fd, head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
  ASSERT_EQ(std::memcmp(head.data(), expected.data(), head.size()), 0);

  ASSERT_OK(store.writer().Remove("gone", 1));
  EXPECT_TRUE(
      WaitFor([&] { return !stdfs::exists(mount.path("gone/1")); }, std::chrono::seconds(10)))
      << "removed version still visible";
  EXPECT_EQ(stdfs::read_symlink(mount.path("gone/latest")), "2");
  EXPECT_EQ(::open(mount.path("gone/1/weights/a.bin").c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, ENOENT);

  std::string wrong;
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  int eio = ReadCorrectOrEio(fd, expected, wrong);
  EXPECT_EQ(wrong, "");
  std::cout << "after remove: " << eio << " EIO reads\n";

  auto gc = store.writer().CollectGarbage(nullptr);
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  std::cout << "gc removed " << gc->chunks_removed << " chunks\n";
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);        // past the page cache, to the store
  std::this_thread::sleep_for(std::chrono::seconds(1));  // let the mount catch up with gc
  eio = ReadCorrectOrEio(fd, expected, wrong);
  EXPECT_EQ(wrong, "");
  std::cout << "after gc: " << eio << " EIO reads\n";
  ::close(fd);
  // The surviving version is untouched.
  EXPECT_EQ(Incomplete(v2, mount.path("gone/2")), "");
  EXPECT_TRUE(IsServedMount(mount.mountpoint()));
}

}  // namespace
}  // namespace re2po::testing
