// Opens through MountedRepository (no FUSE): each is one access log record
// naming the caller and where the file was served from, and one count in
// the per-model opens; the metrics sample carries the store's counters.
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "fs/core/mounted_repo.h"
#include "tests/fs/mount_fixture.h"

namespace re2po::fs {
namespace {
using namespace re2po::testing;
using nlohmann::json;

class MountedRepoAccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const stdfs::path source = store_.scratch() / "source";
    WriteFileBytes(source / "small.bin", RandomBytes(300'000, 1));
    WriteFileBytes(source / "sub" / "other.bin", RandomBytes(100'000, 2));
    store_.Import("m", 1, source);
    store_.Import("n", 2, source / "sub");
    store_.CloseWriter();

    StoreOptions options;
    options.dir = store_.dir();
    auto store = Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    AccessLogOptions log_options;
    log_options.path = store_.scratch() / "access.jsonl";
    log_options.background = false;
    auto log = AccessLog::Open(log_options);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = log->get();
    RepoOptions repo_options;
    repo_options.whole_file_readahead = 0;
    repo_options.metrics = true;
    repo_ = std::make_unique<MountedRepository>(std::move(store).value(),
                                                std::make_unique<UsageRecorder>("", "test-mount"),
                                                repo_options, std::move(log).value());
  }

  uint64_t Walk(const std::string& path) {
    uint64_t ino = kRootIno;
    for (const auto& name : stdfs::path(path)) {
      auto entry = repo_->Lookup(ino, name.string());
      if (!entry.ok()) throw std::runtime_error(entry.status().ToString());
      ino = entry->ino;
    }
    return ino;
  }

  std::unique_ptr<OpenFile> OpenAs(const std::string& path, uid_t uid) {
    Caller caller;
    caller.uid = uid;
    caller.pid = static_cast<pid_t>(::syscall(SYS_gettid));
    auto file = repo_->Open(Walk(path), caller);
    if (!file.ok()) throw std::runtime_error(file.status().ToString());
    return std::move(file).value();
  }

  std::vector<json> Records() {
    EXPECT_OK(log_->DrainOnce());
    std::vector<json> records;
    std::ifstream in(log_->path());
    for (std::string line; std::getline(in, line);) records.push_back(json::parse(line));
    return records;
  }

  TestStore store_;
  AccessLog* log_ = nullptr;  // owned by repo_
  std::unique_ptr<MountedRepository> repo_;
};

TEST_F(MountedRepoAccessTest, LogsEachOpenWithItsCallerAndSource) {
  auto first = OpenAs("m/1/small.bin", 1234);
  std::vector<uint8_t> buffer(300'000);
  auto read = repo_->Read(*first, 0, buffer);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(*read, buffer.size());
  auto second = OpenAs("m/1/small.bin", 1234);  // every chunk is in memory now
  auto other = OpenAs("n/2/other.bin", 99);

  std::string command;
  std::ifstream("/proc/self/comm") >> command;
  const std::vector<json> records = Records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0]["model"], "m");
  EXPECT_EQ(records[0]["version"], 1);
  EXPECT_EQ(records[0]["path"], "small.bin");
  EXPECT_EQ(records[0]["uid"], 1234);
  EXPECT_EQ(records[0]["pid"], ::getpid());
  EXPECT_EQ(records[0]["command"], command);
  EXPECT_EQ(records[0]["mount"], "test-mount");
  EXPECT_EQ(records[0]["served_from"], "local");
  EXPECT_EQ(records[1]["served_from"], "cache");
  EXPECT_EQ(records[2]["path"], "other.bin");
  EXPECT_EQ(records[2]["uid"], 99);
  EXPECT_EQ(records[2]["served_from"], "local");

  const MetricsSample sample = repo_->SampleMetrics();
  using Pairs = std::vector<std::pair<std::string, uint64_t>>;
  EXPECT_EQ(sample.model_opens, (Pairs{{"m", 2}, {"n", 1}}));
  EXPECT_EQ(sample.store_kind, "local");
  EXPECT_GT(sample.store.fetches, 0u);
  EXPECT_GT(sample.store.fetch_bytes, 0u);
  EXPECT_EQ(sample.store.fetch_errors, 0u);
  EXPECT_EQ(sample.store.cache_misses, sample.store.fetches);  // each miss one fetch
  EXPECT_GT(sample.store.cache_bytes, 0u);
  EXPECT_TRUE(sample.access_log);
  EXPECT_EQ(sample.access_records, 3u);
  EXPECT_EQ(sample.access_lost, 0u);
  EXPECT_GE(sample.catalog_generation, 1u);
  EXPECT_GE(sample.catalog_age_seconds, 0.0);
}

TEST_F(MountedRepoAccessTest, StatfsIsTheLogicalSizeAndFileCount) {
  const struct statvfs numbers = repo_->StatFs();
  EXPECT_EQ(numbers.f_blocks * numbers.f_frsize, (400'000u + 100'000u + 4095) / 4096 * 4096);
  EXPECT_EQ(numbers.f_files, 3u);  // m@1: small.bin, sub/other.bin; n@2: other.bin
  EXPECT_EQ(numbers.f_bavail, 0u);
}

}  // namespace
}  // namespace re2po::fs
