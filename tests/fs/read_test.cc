// The read path against the source bytes: 10,000 random preads (across chunk
// boundaries and past EOF, with the page cache dropped between rounds), mmap
// (shared and private), and 16 threads reading at once. One store and one
// mount for the whole suite: importing 64 MB is the slow part.
#include <sys/mman.h>

#include <atomic>
#include <random>

#include "tests/fs/mount_fixture.h"

namespace re2po::testing {
namespace {

// ~64 MB: random stretches (many distinct chunks) and a repeated 1 MiB block
// (deduplicated chunks), so reads cross many chunk boundaries of both kinds.
std::vector<uint8_t> BigFileBytes() {
  std::vector<uint8_t> bytes;
  const std::vector<uint8_t> repeated = RandomBytes(1 << 20, 77);
  for (uint64_t part = 0; part < 16; ++part) {
    const std::vector<uint8_t> random = RandomBytes((3 << 20) + part * 4099, 100 + part);
    bytes.insert(bytes.end(), random.begin(), random.end());
    bytes.insert(bytes.end(), repeated.begin(), repeated.end());
  }
  bytes.resize(bytes.size() - 12345);  // an odd size: the last page is partial
  return bytes;
}

class ReadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!FuseUnavailableReason().empty()) return;
    store_ = new TestStore();
    const stdfs::path source = store_->scratch() / "source";
    big_ = new std::vector<uint8_t>(BigFileBytes());
    WriteFileBytes(source / "big.bin", *big_);
    for (int i = 0; i < 4; ++i) {
      WriteFileBytes(source / ("small" + std::to_string(i) + ".bin"),
                     RandomBytes((2 << 20) + static_cast<size_t>(i) * 1000, 500 + i));
    }
    store_->Import("reader", 1, source);
    store_->CloseWriter();
    mount_ = new TestMount(store_->dir(), TestMount::Options{"cache_size=64M"});
    mount_error_ = mount_->Start();
  }
  static void TearDownTestSuite() {
    delete mount_;  // always unmounts
    delete store_;
    delete big_;
    mount_ = nullptr;
    store_ = nullptr;
    big_ = nullptr;
  }
  void SetUp() override {
    REQUIRE_FUSE();
    ASSERT_EQ(mount_error_, "");
  }

  static stdfs::path Mounted(const std::string& name) { return mount_->path("reader/1/" + name); }
  static std::vector<uint8_t> Source(const std::string& name) {
    return ReadFileBytes(store_->scratch() / "source" / name);
  }

  static inline TestStore* store_ = nullptr;
  static inline TestMount* mount_ = nullptr;
  static inline std::vector<uint8_t>* big_ = nullptr;
  static inline std::string mount_error_;
};

TEST_F(ReadTest, TenThousandRandomPreadsMatchTheSource) {
  const std::vector<uint8_t>& expected = *big_;
  const int fd = ::open(Mounted("big.bin").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  std::mt19937_64 rng(2024);
  std::vector<uint8_t> buffer(4 << 20);
  const uint64_t size = expected.size();
  for (int i = 0; i < 10000; ++i) {
    if (i % 1000 == 0) ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);  // make FUSE read again
    const uint64_t offset = rng() % (size + (256 << 10));               // some start past EOF
    size_t length;
    switch (rng() % 4) {
      case 0:
        length = 1 + rng() % 64;
        break;
      case 1:
        length = 1 + rng() % 8192;
        break;
      case 2:
        length = 1 + rng() % (512 << 10);
        break;
      default:
        length = 1 + rng() % buffer.size();
        break;
    }
    const ssize_t got = PreadFully(fd, buffer.data(), length, static_cast<off_t>(offset));
    const size_t want = offset >= size ? 0 : std::min<uint64_t>(length, size - offset);
    ASSERT_EQ(got, static_cast<ssize_t>(want)) << "read " << i << " at " << offset << "+" << length;
    ASSERT_EQ(std::memcmp(buffer.data(), expected.data() + std::min(offset, size), want), 0)
        << "wrong bytes for read " << i << " at " << offset << "+" << length;
  }
  ::close(fd);
}

TEST_F(ReadTest, SequentialReadOfEveryFileMatches) {
  for (const char* name : {"big.bin", "small0.bin", "small1.bin", "small2.bin", "small3.bin"}) {
    EXPECT_EQ(Sha256Hex(Mounted(name)), Sha256Hex(store_->scratch() / "source" / name)) << name;
  }
}

void CheckMapping(const std::string& path, const std::vector<uint8_t>& expected, int flags) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  void* whole = ::mmap(nullptr, expected.size(), PROT_READ, flags, fd, 0);
  ASSERT_NE(whole, MAP_FAILED) << std::strerror(errno);
  EXPECT_EQ(std::memcmp(whole, expected.data(), expected.size()), 0);
  // A window at a page-aligned offset, ending in the partial last page.
  const long page = ::sysconf(_SC_PAGESIZE);
  const size_t offset = (expected.size() / 3) / page * page;
  const size_t length = expected.size() - offset;
  void* window = ::mmap(nullptr, length, PROT_READ, flags, fd, static_cast<off_t>(offset));
  ASSERT_NE(window, MAP_FAILED) << std::strerror(errno);
  EXPECT_EQ(std::memcmp(window, expected.data() + offset, length), 0);
  // Random single bytes, in no particular order, through the first mapping.
  std::mt19937_64 rng(flags);
  const auto* bytes = static_cast<const uint8_t*>(whole);
  for (int i = 0; i < 20000; ++i) {
    const size_t at = rng() % expected.size();
    ASSERT_EQ(bytes[at], expected[at]) << "byte " << at;
  }
  ::munmap(window, length);
  ::munmap(whole, expected.size());
  ::close(fd);
}

TEST_F(ReadTest, MmapSharedMatchesTheSource) {
  CheckMapping(Mounted("big.bin"), *big_, MAP_SHARED);
}

TEST_F(ReadTest, MmapPrivateMatchesTheSource) {
  CheckMapping(Mounted("big.bin"), *big_, MAP_PRIVATE);
  CheckMapping(Mounted("small1.bin"), Source("small1.bin"), MAP_PRIVATE);
}

TEST_F(ReadTest, SixteenThreadsReadTheSameAndDifferentFiles) {
  std::map<std::string, std::vector<uint8_t>> sources;
  sources["big.bin"] = *big_;
  for (int i = 0; i < 4; ++i) {
    const std::string name = "small" + std::to_string(i) + ".bin";
    sources[name] = Source(name);
  }
  std::vector<std::string> names;
  for (const auto& [name, bytes] : sources) names.push_back(name);
  const int shared_fd = ::open(Mounted("big.bin").c_str(), O_RDONLY);  // one fd, many threads
  ASSERT_GE(shared_fd, 0);
  std::atomic<uint64_t> bytes_checked{0};
  std::atomic<int> failures{0};
  std::vector<std::string> messages(16);
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      std::vector<uint8_t> buffer(1 << 20);
      // Even threads stay on big.bin (half through the shared fd); odd ones roam.
      for (int i = 0; i < 300 && failures == 0; ++i) {
        const std::string& name = t % 2 == 0 ? names[0] : names[rng() % names.size()];
        const std::vector<uint8_t>& expected = sources.at(name);
        const bool shared = t % 4 == 0 && name == "big.bin";
        const int fd = shared ? shared_fd : ::open(Mounted(name).c_str(), O_RDONLY);
        if (fd < 0) {
          messages[t] = "open " + name + ": " + std::strerror(errno);
          ++failures;
          return;
        }
        const uint64_t offset = rng() % expected.size();
        const size_t length = 1 + rng() % buffer.size();
        const ssize_t got = PreadFully(fd, buffer.data(), length, static_cast<off_t>(offset));
        const size_t want = std::min<uint64_t>(length, expected.size() - offset);
        if (got != static_cast<ssize_t>(want) ||
            std::memcmp(buffer.data(), expected.data() + offset, want) != 0) {
          messages[t] = "bad read of " + name + " at " + std::to_string(offset);
          ++failures;
        }
        bytes_checked += want;
        if (!shared) ::close(fd);
      }
      if (t == 15) ::posix_fadvise(shared_fd, 0, 0, POSIX_FADV_DONTNEED);
    });
  }
  for (auto& thread : threads) thread.join();
  ::close(shared_fd);
  for (const std::string& message : messages) EXPECT_EQ(message, "");
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(bytes_checked.load(), uint64_t{100} << 20);
}

TEST_F(ReadTest, ReadsPastEndOfFileReturnNothing) {
  const int fd = ::open(Mounted("small0.bin").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  uint8_t byte = 0;
  EXPECT_EQ(::pread(fd, &byte, 1, 2 << 20), 0);
  EXPECT_EQ(::pread(fd, &byte, 1, 1LL << 40), 0);
  ::close(fd);
}

}  // namespace
}  // namespace re2po::testing
