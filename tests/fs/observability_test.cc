// A mount driven with known opens and reads, then its access log and its
// metrics endpoint (scraped over loopback) checked for the exact counts:
// opens by processes in two cgroups, a damaged chunk read three times, a
// chunk cache smaller than the data. Then df, and the re2po commands that
// read the log and the endpoint back.
#include <fcntl.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "fs/core/access_log.h"
#include "fs/core/metrics_text.h"
#include "fs/fuse/metrics_server.h"
#include "tests/fs/mount_fixture.h"

namespace re2po::testing {
namespace {
using fs::ScrapedMetrics;
using nlohmann::json;

constexpr long kCgroup2Magic = 0x63677270;

// Where cgroup v2 is mounted: /sys/fs/cgroup (unified hosts) or
// /sys/fs/cgroup/unified (hybrid hosts); empty when neither.
stdfs::path Cgroup2Root() {
  for (const char* candidate : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    struct statfs info {};
    if (::statfs(candidate, &info) == 0 && info.f_type == kCgroup2Magic) return candidate;
  }
  return {};
}

// Two child cgroups for the test's processes, removed at the end (they are
// empty again once the processes moved into them have exited).
class TestCgroups {
 public:
  TestCgroups() {
    const stdfs::path root = Cgroup2Root();
    if (root.empty()) {
      why_not_ = "no cgroup v2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified";
      return;
    }
    const std::string suffix = std::to_string(::getpid());
    for (const char* name : {"re2po-test-a-", "re2po-test-b-"}) {
      const stdfs::path group = root / (name + suffix);
      std::error_code ec;
      if (!stdfs::create_directory(group, ec) && ec) {
        why_not_ = "cannot create " + group.string() + ": " + ec.message();
        return;
      }
      groups_.push_back(group);
    }
    root_ = root;
  }
  ~TestCgroups() {
    for (const stdfs::path& group : groups_) {
      std::error_code ignored;
      stdfs::remove(group, ignored);
    }
  }
  const std::string& why_not() const { return why_not_; }
  const stdfs::path& group(size_t i) const { return groups_[i]; }
  // The group as /proc/<pid>/cgroup names it.
  std::string name(size_t i) const { return "/" + groups_[i].lexically_relative(root_).string(); }

 private:
  stdfs::path root_;
  std::vector<stdfs::path> groups_;
  std::string why_not_;
};

struct Child {
  pid_t pid = -1;
  int exit_code = -1;
};

// Runs `cat FILE > /dev/null` in `cgroup`: the child waits until its pid is
// in the group's cgroup.procs, so the open is the group's.
Child CatInCgroup(const stdfs::path& cgroup, const stdfs::path& file) {
  int gate[2];
  if (::pipe2(gate, O_CLOEXEC) != 0) return {};
  const std::string cat = "/bin/cat";
  const std::string path = file.string();
  char* argv[] = {const_cast<char*>(cat.c_str()), const_cast<char*>(path.c_str()), nullptr};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(gate[1]);
    char go = 0;
    if (::read(gate[0], &go, 1) != 1) ::_exit(126);
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, STDOUT_FILENO);
    ::execv(argv[0], argv);
    ::_exit(127);
  }
  ::close(gate[0]);
  Child child{pid, -1};
  {
    std::ofstream procs(cgroup / "cgroup.procs");
    procs << pid << std::endl;
    if (!procs) ADD_FAILURE() << "cannot move " << pid << " into " << cgroup;
  }
  const bool released = ::write(gate[1], "x", 1) == 1;
  ::close(gate[1]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (released && WIFEXITED(status)) child.exit_code = WEXITSTATUS(status);
  return child;
}

// The address the daemon recorded for its endpoint, once it has.
std::string MetricsAddress(const stdfs::path& store, const stdfs::path& mountpoint) {
  std::vector<std::string> addresses;
  WaitFor([&] {
    addresses = fs::RecordedMetricsAddresses(store, mountpoint);
    return !addresses.empty();
  });
  return addresses.empty() ? "" : addresses.front();
}

std::vector<json> AccessRecords(const stdfs::path& log) {
  std::vector<json> records;
  for (const stdfs::path& file : fs::AccessLogFiles(log)) {
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
      records.push_back(json::parse(line, nullptr, false));
    }
  }
  return records;
}

std::string OwnCommand() {
  std::string command;
  std::ifstream("/proc/self/comm") >> command;
  return command;
}

std::string OwnCgroup() {
  std::ifstream in("/proc/self/cgroup");
  return fs::CgroupOf(std::string(std::istreambuf_iterator<char>(in), {}));
}

// Opens `file` once with O_DIRECT and reads 4 KiB at each offset: exactly
// one FUSE read each, where the page cache would retry a failed read-ahead
// page by page. Returns what each pread returned (-errno on failure).
std::vector<ssize_t> DirectReads(const stdfs::path& file, const std::vector<off_t>& offsets) {
  std::vector<ssize_t> results;
  const int fd = ::open(file.c_str(), O_RDONLY | O_DIRECT);
  if (fd < 0) return {-errno};
  void* buffer = nullptr;
  if (::posix_memalign(&buffer, 4096, 4096) == 0) {
    for (off_t offset : offsets) {
      const ssize_t n = ::pread(fd, buffer, 4096, offset);
      results.push_back(n < 0 ? -errno : n);
    }
    std::free(buffer);
  }
  ::close(fd);
  return results;
}

class ObservabilityTest : public ::testing::Test {
 protected:
  static constexpr size_t kSmall = 256 << 10;
  static constexpr size_t kBig = 32 << 20;  // four times the chunk cache
  static constexpr size_t kBad = 2 << 20;
  static constexpr uint64_t kDamagedAt = 1 << 20;

  void BuildStore() {
    const stdfs::path source = store_.scratch() / "source";
    WriteFileBytes(source / "alpha" / "small.bin", RandomBytes(kSmall, 1));
    WriteFileBytes(source / "beta" / "big.bin", RandomBytes(kBig, 2));
    // corruption_test.cc's file: its chunk at 1 MiB is known to be damageable.
    const std::vector<uint8_t> bad = RandomBytes(kBad, 666);
    WriteFileBytes(source / "broken" / "bad.bin", bad);
    store_.Import("alpha", 1, source / "alpha");
    store_.Import("beta", 1, source / "beta");
    store_.Import("broken", 1, source / "broken");
    store_.CloseWriter();
    const std::vector<uint8_t> needle(bad.begin() + kDamagedAt, bad.begin() + kDamagedAt + 4096);
    ASSERT_FALSE(FlipBytesWhereFound(store_.dir() / "db", needle).empty());
  }

  ScrapedMetrics Scrape(const std::string& address) {
    Result<std::string> text = fs::ScrapeMetrics(address);
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    last_scrape_ = text.ok() ? *text : "";
    return ScrapedMetrics::Parse(last_scrape_);
  }

  // Five opens, in order, each with its process, its group and its source.
  void CheckAccessLog(const TestCgroups& cgroups, const std::vector<Child>& children) {
    const stdfs::path log = store_.dir() / "access" / "access.jsonl";
    std::vector<json> records;
    ASSERT_TRUE(WaitFor([&] {
      records = AccessRecords(log);
      return records.size() >= 5;
    })) << "the access log has "
        << records.size() << " records";
    ASSERT_EQ(records.size(), 5u);
    struct Expected {
      std::string model, path;
      pid_t pid;
      std::string command, cgroup, served_from;
    };
    const std::vector<Expected> expected = {
        {"alpha", "small.bin", children[0].pid, "cat", cgroups.name(0), "local"},
        {"alpha", "small.bin", children[1].pid, "cat", cgroups.name(0), "cache"},
        {"beta", "big.bin", children[2].pid, "cat", cgroups.name(1), "local"},
        {"alpha", "small.bin", children[3].pid, "cat", cgroups.name(1), "local"},
        {"broken", "bad.bin", ::getpid(), OwnCommand(), OwnCgroup(), "local"},
    };
    for (size_t i = 0; i < expected.size(); ++i) {
      SCOPED_TRACE("record " + std::to_string(i) + ": " + records[i].dump());
      EXPECT_EQ(records[i]["model"], expected[i].model);
      EXPECT_EQ(records[i]["version"], 1);
      EXPECT_EQ(records[i]["path"], expected[i].path);
      EXPECT_EQ(records[i]["uid"], ::getuid());
      EXPECT_EQ(records[i]["pid"], expected[i].pid);
      EXPECT_EQ(records[i]["command"], expected[i].command);
      EXPECT_EQ(records[i]["cgroup"], expected[i].cgroup);
      EXPECT_EQ(records[i]["served_from"], expected[i].served_from);
      EXPECT_TRUE(records[i]["time"].get<std::string>().ends_with("Z"));
    }
  }

  void CheckMetrics(const std::string& address) {
    ScrapedMetrics metrics = Scrape(address);
    // The writer thread may not have counted the last record yet.
    WaitFor([&] {
      metrics = Scrape(address);
      return metrics.Value("re2po_access_log_records_total") >= 5;
    });
    EXPECT_EQ(metrics.Value("re2po_access_log_records_total"), 5);
    EXPECT_EQ(metrics.Value("re2po_access_log_lost_records_total"), 0);
    EXPECT_EQ(metrics.Value("re2po_fuse_requests_total", {{"operation", "open"}}), 5);
    EXPECT_EQ(metrics.Value("re2po_model_opens_total", {{"model", "alpha"}}), 3);
    EXPECT_EQ(metrics.Value("re2po_model_opens_total", {{"model", "beta"}}), 1);
    EXPECT_EQ(metrics.Value("re2po_model_opens_total", {{"model", "broken"}}), 1);
    EXPECT_EQ(metrics.Series("re2po_model_opens_total").size(), 3u);
    EXPECT_EQ(metrics.Value("re2po_fuse_eio_replies_total", {{"cause", "corrupt_chunk"}}), 3);
    EXPECT_EQ(metrics.Sum("re2po_fuse_eio_replies_total"), 3);
    // Every read is timed; the files were read through at least once.
    const double reads = metrics.Value("re2po_fuse_requests_total", {{"operation", "read"}});
    EXPECT_EQ(metrics.Value("re2po_fuse_read_duration_seconds_count"), reads);
    EXPECT_GE(metrics.Value("re2po_fuse_reply_bytes_total", {{"operation", "read"}}),
              static_cast<double>(kSmall + kBig + 4096));
    // The cache is a quarter of big.bin: it evicts, and stays within its bound.
    EXPECT_GT(metrics.Value("re2po_chunk_cache_evictions_total"), 0);
    EXPECT_GT(metrics.Value("re2po_chunk_cache_hits_total"), 0);
    EXPECT_GT(metrics.Value("re2po_chunk_cache_misses_total"), 0);
    EXPECT_EQ(metrics.Value("re2po_chunk_cache_capacity_bytes"), 8 << 20);
    EXPECT_LE(metrics.Value("re2po_chunk_cache_bytes"), 8 << 20);
    EXPECT_GE(metrics.Value("re2po_store_fetch_errors_total"), 3);  // read-ahead tries it too
    EXPECT_GE(metrics.Value("re2po_store_fetch_bytes_total"), static_cast<double>(kBig));
    EXPECT_EQ(metrics.Value("re2po_store_info", {{"kind", "local"}}), 1);
    EXPECT_GE(metrics.Value("re2po_catalog_generation"), 3);  // three imports
    EXPECT_LT(metrics.Value("re2po_catalog_refresh_age_seconds"), 30);
    EXPECT_GT(metrics.Value("re2po_readahead_queued_chunks_total"), 0);
    if (RunCommand("command -v promtool").exit_code != 0) {
      std::printf(
          "promtool is not installed (apt-get install prometheus): the scrape's format "
          "is not checked\n");
    } else {
      const stdfs::path file = store_.scratch() / "scrape.prom";
      WriteFileText(file, last_scrape_);
      const CommandResult checked =
          RunCommand("promtool check metrics < " + ShellQuote(file.string()) + " 2>&1");
      EXPECT_EQ(checked.exit_code, 0) << checked.out;
      EXPECT_EQ(checked.out, "") << checked.out;
    }
  }

  // df: the logical size of the three versions, and their file count.
  void CheckStatfs(const stdfs::path& mountpoint) {
    struct statvfs numbers {};
    ASSERT_EQ(::statvfs(mountpoint.c_str(), &numbers), 0);
    const uint64_t logical = kSmall + kBig + kBad;
    EXPECT_EQ(numbers.f_blocks * numbers.f_frsize, (logical + 4095) / 4096 * 4096);
    EXPECT_EQ(numbers.f_files, 3u);
    const CommandResult df =
        RunCommand("df -B1 --output=size " + ShellQuote(mountpoint.string()) + " | tail -1");
    ASSERT_EQ(df.exit_code, 0) << df.err;
    EXPECT_EQ(std::stoull(df.out), (logical + 4095) / 4096 * 4096) << df.out;
  }

  void CheckCommands(const stdfs::path& mountpoint) {
    const std::string re2po =
        ShellQuote(BuiltTool("re2po")) + " --store " + ShellQuote(store_.dir().string()) + " ";
    const CommandResult alpha = RunCommand(re2po + "access-log alpha --json");
    ASSERT_EQ(alpha.exit_code, 0) << alpha.err;
    size_t lines = 0;
    std::istringstream in(alpha.out);
    for (std::string line; std::getline(in, line);) {
      EXPECT_EQ(json::parse(line)["model"], "alpha") << line;
      ++lines;
    }
    EXPECT_EQ(lines, 3u) << alpha.out;
    const CommandResult recent = RunCommand(re2po + "access-log --since 1h");
    ASSERT_EQ(recent.exit_code, 0) << recent.err;
    EXPECT_NE(recent.out.find("broken@1"), std::string::npos) << recent.out;
    EXPECT_NE(recent.out.find("cache"), std::string::npos) << recent.out;
    const CommandResult top = RunCommand(re2po + "top --once " + ShellQuote(mountpoint.string()));
    ASSERT_EQ(top.exit_code, 0) << top.err;
    EXPECT_NE(top.out.find("reads/s"), std::string::npos) << top.out;
    EXPECT_NE(top.out.find("cache hit"), std::string::npos) << top.out;
    EXPECT_NE(top.out.find("alpha"), std::string::npos) << top.out;
  }

  // After the mount is gone: `re2po ls MODEL` counts the opens the access
  // log recorded (both come from the same opens; ls keeps them when the
  // log is off or rotated away).
  void CheckListedOpens(const std::map<std::string, int>& opens) {
    const std::string re2po =
        ShellQuote(BuiltTool("re2po")) + " --store " + ShellQuote(store_.dir().string()) + " ";
    for (const auto& [model, count] : opens) {
      const CommandResult listed = RunCommand(re2po + "ls " + model + " --json");
      ASSERT_EQ(listed.exit_code, 0) << listed.err;
      const json versions = json::parse(listed.out);
      ASSERT_EQ(versions.size(), 1u) << listed.out;
      EXPECT_EQ(versions[0]["opens"], count) << model << ": " << listed.out;
      EXPECT_NE(versions[0]["last_access"], "") << listed.out;
    }
  }

  TestStore store_;
  std::string last_scrape_;
};

TEST_F(ObservabilityTest, CountsOpensReadsAndErrorsExactly) {
  REQUIRE_FUSE();
  TestCgroups cgroups;
  if (!cgroups.why_not().empty()) GTEST_SKIP() << "cgroup v2 not writable: " << cgroups.why_not();
  BuildStore();
  TestMount::Options options;
  options.fuse_options = "metrics=127.0.0.1:0,cache_size=8M";
  TestMount mount(store_.dir(), options);
  START_MOUNT(mount);
  const std::string address = MetricsAddress(store_.dir(), mount.mountpoint());
  ASSERT_NE(address, "") << mount.Log();
  ASSERT_TRUE(address.starts_with("127.0.0.1:")) << address;

  const stdfs::path small = mount.path("alpha/1/small.bin");
  const stdfs::path big = mount.path("beta/1/big.bin");
  std::vector<Child> children;
  children.push_back(CatInCgroup(cgroups.group(0), small));  // cold: from the store
  children.push_back(CatInCgroup(cgroups.group(0), small));  // every chunk in memory
  children.push_back(CatInCgroup(cgroups.group(1), big));    // evicts the rest
  children.push_back(CatInCgroup(cgroups.group(1), small));  // from the store again
  for (const Child& child : children) ASSERT_EQ(child.exit_code, 0) << "cat " << child.pid;
  // One open of the damaged file: the bytes before the damaged chunk read
  // fine, the chunk itself fails three times.
  const stdfs::path bad = mount.path("broken/1/bad.bin");
  const off_t damaged = static_cast<off_t>(kDamagedAt);
  EXPECT_EQ(DirectReads(bad, {0, damaged, damaged, damaged}),
            (std::vector<ssize_t>{4096, -EIO, -EIO, -EIO}));

  CheckAccessLog(cgroups, children);
  CheckMetrics(address);
  CheckStatfs(mount.mountpoint());
  CheckCommands(mount.mountpoint());
  mount.Stop();
  CheckListedOpens({{"alpha", 3}, {"beta", 1}, {"broken", 1}});
}

// A unix socket endpoint, no access log; both gone with the mount.
TEST_F(ObservabilityTest, ServesAUnixSocketAndLogsNothingWhenTold) {
  REQUIRE_FUSE();
  WriteFileBytes(store_.scratch() / "source" / "f.bin", RandomBytes(100'000, 5));
  store_.Import("m", 1, store_.scratch() / "source");
  store_.CloseWriter();
  const stdfs::path socket = store_.scratch() / "metrics.sock";
  TestMount::Options options;
  options.fuse_options = "access_log=off,metrics=" + socket.string();
  TestMount mount(store_.dir(), options);
  START_MOUNT(mount);
  EXPECT_EQ(Sha256Hex(mount.path("m/1/f.bin")), Sha256Hex(store_.scratch() / "source" / "f.bin"));
  EXPECT_EQ(MetricsAddress(store_.dir(), mount.mountpoint()), socket.string());
  const ScrapedMetrics metrics = Scrape(socket.string());
  EXPECT_EQ(metrics.Value("re2po_model_opens_total", {{"model", "m"}}), 1);
  EXPECT_FALSE(metrics.Has("re2po_access_log_records_total"));
  EXPECT_FALSE(stdfs::exists(store_.dir() / "access" / "access.jsonl"));

  mount.Stop();
  EXPECT_FALSE(stdfs::exists(socket));
  EXPECT_TRUE(fs::RecordedMetricsAddresses(store_.dir(), mount.mountpoint()).empty());
}

// Without -o metrics= there is no endpoint, and the FUSE callbacks count nothing.
TEST_F(ObservabilityTest, HasNoEndpointByDefault) {
  REQUIRE_FUSE();
  WriteFileBytes(store_.scratch() / "source" / "f.bin", RandomBytes(1000, 6));
  store_.Import("m", 1, store_.scratch() / "source");
  store_.CloseWriter();
  TestMount mount(store_.dir());
  START_MOUNT(mount);
  EXPECT_EQ(Sha256Hex(mount.path("m/1/f.bin")), Sha256Hex(store_.scratch() / "source" / "f.bin"));
  EXPECT_FALSE(stdfs::exists(fs::MetricsAddressDir(store_.dir())));
  EXPECT_TRUE(
      WaitFor([&] { return AccessRecords(store_.dir() / "access" / "access.jsonl").size() == 1; }));
}

}  // namespace
}  // namespace re2po::testing
