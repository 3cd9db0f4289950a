// The access log: its JSON lines, who a caller is, rotation by size, and
// records dropped when the queue is full counted and then written as a count.
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "fs/core/access_log.h"
#include "tests/fs/mount_fixture.h"

namespace re2po::fs {
namespace {
using namespace re2po::testing;
using nlohmann::json;

std::vector<json> ReadRecords(const stdfs::path& log) {
  std::vector<json> records;
  for (const stdfs::path& file : AccessLogFiles(log)) {
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) records.push_back(json::parse(line));
  }
  return records;
}

AccessRecord Record(int n) {
  AccessRecord record;
  record.time_ns = 1'763'762'400'000'000'000 + n;
  record.model = "bert";
  record.version = 3;
  record.path = "file-" + std::to_string(n);
  record.uid = 1000;
  record.pid = 4242;
  record.command = "python3";
  record.cgroup = "/kubepods/pod-a/c1";
  record.served_from = "local";
  record.mount = "host-1";
  return record;
}

TEST(AccessRecordTest, IsOneLineOfJsonWithEveryField) {
  AccessRecord record = Record(0);
  record.time_ns = 1'763'762'400'123'456'789;
  record.path = "dir/we\"ird\\\n\x01name\xff.bin";  // quote, backslash, control, bad UTF-8
  record.cgroup = "/kubepods/b\xc3\xa9ta";          // valid UTF-8 stays
  const std::string line = AccessRecordJson(record);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const json parsed = json::parse(line);
  EXPECT_EQ(parsed["time"], "2025-11-21T22:00:00.123Z");
  EXPECT_EQ(parsed["time_ns"], 1'763'762'400'123'456'789);
  EXPECT_EQ(parsed["model"], "bert");
  EXPECT_EQ(parsed["version"], 3);
  EXPECT_EQ(parsed["path"], "dir/we\"ird\\\n\x01name\xef\xbf\xbd.bin");
  EXPECT_EQ(parsed["uid"], 1000);
  EXPECT_EQ(parsed["pid"], 4242);
  EXPECT_EQ(parsed["command"], "python3");
  EXPECT_EQ(parsed["cgroup"], "/kubepods/b\xc3\xa9ta");
  EXPECT_EQ(parsed["served_from"], "local");
  EXPECT_EQ(parsed["mount"], "host-1");
  EXPECT_EQ(json::parse(LostRecordJson(0, 17)),
            (json{{"time", "1970-01-01T00:00:00.000Z"}, {"time_ns", 0}, {"lost", 17}}));
}

TEST(CgroupTest, NamesTheContainer) {
  // cgroup v2: the one line.
  EXPECT_EQ(CgroupOf("0::/kubepods.slice/pod-a.slice/cri-containerd-c1.scope\n"),
            "/kubepods.slice/pod-a.slice/cri-containerd-c1.scope");
  // A hybrid host: v2 wins when it says more than "/".
  EXPECT_EQ(CgroupOf("4:memory:/docker/c2\n1:cpu:/docker/c2\n0::/re2po-test-a\n"), "/re2po-test-a");
  // cgroup v1 only (or v2 at the root): the v1 paths, each once.
  EXPECT_EQ(CgroupOf("4:memory:/docker/c2\n3:cpuset:/\n1:cpu,cpuacct:/docker/c2\n"
                     "9:name=systemd:/system.slice/x.service\n0::/\n"),
            "/docker/c2,/system.slice/x.service");
  EXPECT_EQ(CgroupOf("4:memory:/\n0::/\n"), "/");
  EXPECT_EQ(CgroupOf(""), "/");
}

TEST(ProcessIdentityTest, ReadsTheCallersProcess) {
  std::string command;
  std::ifstream("/proc/self/comm") >> command;
  std::ifstream cgroup_file("/proc/self/cgroup");
  const std::string cgroup((std::istreambuf_iterator<char>(cgroup_file)),
                           std::istreambuf_iterator<char>());
  // Asked about another thread of ours, it names the process.
  ProcessIdentity identity;
  std::thread([&] {
    identity = IdentifyProcess(static_cast<pid_t>(::syscall(SYS_gettid)));
  }).join();
  EXPECT_EQ(identity.pid, ::getpid());
  EXPECT_EQ(identity.command, command);
  EXPECT_EQ(identity.cgroup, CgroupOf(cgroup));
  // A process that is gone leaves the fields empty, and nothing fails.
  const ProcessIdentity gone = IdentifyProcess(0);
  EXPECT_EQ(gone.pid, 0);
  EXPECT_EQ(gone.command, "");
}

TEST(AccessLogTest, RotatesBySizeKeepingTheNewestFiles) {
  TempDir dir;
  AccessLogOptions options;
  options.path = dir.path() / "access" / "access.jsonl";
  options.rotate_bytes = 2000;
  options.keep_rotated = 2;
  options.background = false;
  auto log = AccessLog::Open(options);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  const size_t line_bytes = AccessRecordJson(Record(10)).size() + 1;
  constexpr int kRecords = 60;
  for (int n = 0; n < kRecords; ++n) {
    ASSERT_TRUE((*log)->Submit(Record(n)));
    if (n % 3 == 2) ASSERT_OK((*log)->DrainOnce());  // batches of three lines
  }
  ASSERT_OK((*log)->DrainOnce());
  EXPECT_EQ((*log)->written(), static_cast<uint64_t>(kRecords));

  EXPECT_TRUE(stdfs::exists(options.path));
  EXPECT_TRUE(stdfs::exists(options.path.string() + ".1"));
  EXPECT_TRUE(stdfs::exists(options.path.string() + ".2"));
  EXPECT_FALSE(stdfs::exists(options.path.string() + ".3"));
  for (const stdfs::path& file : AccessLogFiles(options.path)) {
    EXPECT_LE(stdfs::file_size(file), options.rotate_bytes) << file;
    EXPECT_GT(stdfs::file_size(file), 0u) << file;
  }
  // Oldest first, in order, ending with the last record: only the oldest were dropped.
  const std::vector<json> records = ReadRecords(options.path);
  ASSERT_FALSE(records.empty());
  EXPECT_GE(records.size() * line_bytes, 2 * options.rotate_bytes - 3 * line_bytes);
  const int first = std::stoi(records.front()["path"].get<std::string>().substr(5));
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i]["path"], "file-" + std::to_string(first + static_cast<int>(i)));
  }
  EXPECT_EQ(records.back()["path"], "file-" + std::to_string(kRecords - 1));
}

TEST(AccessLogTest, CountsRecordsLostToAFullQueueAndWritesTheCount) {
  TempDir dir;
  AccessLogOptions options;
  options.path = dir.path() / "access.jsonl";
  options.queue_records = 8;
  options.background = false;
  auto opened = AccessLog::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  AccessLog& log = **opened;

  int accepted = 0;
  for (int n = 0; n < 11; ++n) accepted += log.Submit(Record(n)) ? 1 : 0;
  EXPECT_EQ(accepted, 8);
  EXPECT_EQ(log.lost(), 3u);
  ASSERT_OK(log.DrainOnce());  // space returns: eight records, then the count
  for (int n = 11; n < 13; ++n) EXPECT_TRUE(log.Submit(Record(n)));
  ASSERT_OK(log.DrainOnce());                           // nothing new was lost: no count line
  for (int n = 13; n < 22; ++n) log.Submit(Record(n));  // one too many
  ASSERT_OK(log.DrainOnce());

  EXPECT_EQ(log.written(), 18u);
  EXPECT_EQ(log.lost(), 4u);
  const std::vector<json> records = ReadRecords(options.path);
  ASSERT_EQ(records.size(), 20u);
  EXPECT_EQ(records[7]["path"], "file-7");
  EXPECT_EQ(records[8]["lost"], 3);
  EXPECT_EQ(records[9]["path"], "file-11");
  EXPECT_EQ(records[10]["path"], "file-12");
  EXPECT_EQ(records[18]["path"], "file-20");
  EXPECT_EQ(records[19]["lost"], 1);  // the count since the last one said
}

TEST(AccessLogTest, TheWriterThreadWritesWithoutBeingAsked) {
  TempDir dir;
  AccessLogOptions options;
  options.path = dir.path() / "access.jsonl";
  options.drain_every = std::chrono::milliseconds(10);
  auto log = AccessLog::Open(options);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  for (int n = 0; n < 100; ++n) ASSERT_TRUE((*log)->Submit(Record(n)));
  EXPECT_TRUE(WaitFor([&] { return (*log)->written() == 100; }));
  for (int n = 100; n < 150; ++n) ASSERT_TRUE((*log)->Submit(Record(n)));
  log->reset();  // drains what is queued as it stops
  EXPECT_EQ(ReadRecords(options.path).size(), 150u);
}

TEST(AccessLogTest, TwoMountsSharingALogRotateItOnce) {
  TempDir dir;
  AccessLogOptions options;
  options.path = dir.path() / "access.jsonl";
  options.rotate_bytes = 3000;
  options.keep_rotated = 50;  // keep everything: every line must be found
  options.background = false;
  auto a = AccessLog::Open(options);
  auto b = AccessLog::Open(options);
  ASSERT_TRUE(a.ok() && b.ok());
  for (int n = 0; n < 200; ++n) {
    AccessLog& log = n % 2 == 0 ? **a : **b;
    ASSERT_TRUE(log.Submit(Record(n)));
    ASSERT_OK(log.DrainOnce());
  }
  std::set<std::string> paths;
  for (const json& record : ReadRecords(options.path)) paths.insert(record["path"]);
  EXPECT_EQ(paths.size(), 200u);
  for (const stdfs::path& file : AccessLogFiles(options.path)) {
    EXPECT_LE(stdfs::file_size(file), options.rotate_bytes) << file;
  }
}

TEST(AccessLogTest, SubmitNeverWaitsForTheWriter) {
  TempDir dir;
  AccessLogOptions options;
  options.path = dir.path() / "access.jsonl";
  options.queue_records = 1024;
  options.background = false;  // nobody drains: the queue fills and stays full
  auto log = AccessLog::Open(options);
  ASSERT_TRUE(log.ok());
  std::vector<std::thread> threads;
  std::atomic<uint64_t> accepted{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int n = 0; n < 10'000; ++n) accepted += (*log)->Submit(Record(n)) ? 1 : 0;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(accepted.load(), 1024u);
  EXPECT_EQ((*log)->lost(), 40'000u - 1024u);
}

}  // namespace
}  // namespace re2po::fs
