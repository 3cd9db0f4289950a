// What the fleet tests that run real processes share: a publisher key and
// `re2po push` signed with it, and node daemons started the way an edge
// node's fstab starts them (`mount.re2po s3://... MOUNTPOINT -o ...`,
// backgrounded, each with its own cache directory and log), with their pids
// and the counters they write. Header-only: the test folder builds only
// *_test.cc files.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tests/fleet/fleet_fixture.h"
#include "tests/fs/mount_fixture.h"

namespace re2po::testing {

// What a node daemon last wrote to <cache_dir>/node-stats.json (it rewrites
// the file after every catalog poll, about every 2 s): its S3 counters since
// the process started and its cache's usage.
struct NodeStats {
  uint64_t requests = 0;
  uint64_t bytes_received = 0;
  uint64_t retries = 0;
  uint64_t errors = 0;
  uint64_t cache_chunks = 0;
  uint64_t cache_bytes = 0;
  std::chrono::system_clock::time_point written;  // the file's mtime
};

// The stats file as one consistent snapshot (mtime and content of the same
// inode: the daemon replaces it by rename), or nullopt while there is none.
inline std::optional<NodeStats> ReadNodeStats(const stdfs::path& cache_dir) {
  const stdfs::path path = cache_dir / "node-stats.json";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  std::string text;
  if (::fstat(fd, &st) == 0) {
    char buffer[4096];
    ssize_t n = 0;
    while ((n = ::read(fd, buffer, sizeof(buffer))) > 0) text.append(buffer, n);
  }
  ::close(fd);
  const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.contains("remote") || !json.contains("cache")) {
    return std::nullopt;
  }
  NodeStats stats;
  stats.requests = json["remote"].value("requests", uint64_t{0});
  stats.bytes_received = json["remote"].value("bytes_received", uint64_t{0});
  stats.retries = json["remote"].value("retries", uint64_t{0});
  stats.errors = json["remote"].value("errors", uint64_t{0});
  stats.cache_chunks = json["cache"].value("chunks", uint64_t{0});
  stats.cache_bytes = json["cache"].value("bytes", uint64_t{0});
  stats.written = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
  return stats;
}

// The command line of `pid` as its arguments; empty for a zombie or a
// process that is gone.
inline std::vector<std::string> ProcessArguments(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::vector<std::string> args;
  std::string arg;
  while (std::getline(in, arg, '\0')) args.push_back(arg);
  return args;
}

// The running mount.re2po daemon serving `mountpoint`: after it forked to
// the background it is the only mount.re2po process whose arguments name
// that mountpoint.
inline std::optional<pid_t> FindMountDaemon(const stdfs::path& mountpoint) {
  for (const auto& entry : stdfs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    const std::vector<std::string> args = ProcessArguments(pid);
    if (args.size() < 3 || stdfs::path(args[0]).filename() != "mount.re2po") continue;
    for (size_t i = 1; i < args.size(); ++i) {
      if (args[i] == mountpoint.string()) return pid;
    }
  }
  return std::nullopt;
}

// Alive and not a zombie (the daemon's parent is init, which may reap late).
inline bool ProcessRuns(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  const size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z' &&
         line[close + 2] != 'X';
}

inline std::string FileText(const stdfs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// One node: a backgrounded mount.re2po daemon on `mountpoint` with its own
// cache directory and log. Always unmounted (as UnmountGuard does) and its
// daemon gone at scope exit, even when a test fails.
class NodeDaemon {
 public:
  NodeDaemon(std::string name, stdfs::path mountpoint, stdfs::path cache_dir, stdfs::path log)
      : name_(std::move(name)),
        mountpoint_(std::move(mountpoint)),
        cache_dir_(std::move(cache_dir)),
        log_(std::move(log)),
        guard_(mountpoint_) {
    stdfs::create_directories(mountpoint_);
  }
  ~NodeDaemon() { Stop(); }
  NodeDaemon(const NodeDaemon&) = delete;
  NodeDaemon& operator=(const NodeDaemon&) = delete;

  // Runs `command` (the mount.re2po line, environment included), which
  // returns once the mount answers; "" or what went wrong.
  std::string Mount(const std::string& command) {
    CommandResult mounted = RunCommand(command + "; exit $?");
    mount_messages_ = mounted.err;
    if (mounted.exit_code != 0) {
      return "mount.re2po failed (" + std::to_string(mounted.exit_code) + "): " + mounted.err +
             "\nits log:\n" + Log();
    }
    if (!IsServedMount(mountpoint_)) return "mount.re2po returned 0 but nothing answers";
    std::optional<pid_t> pid = FindMountDaemon(mountpoint_);
    if (!pid) return "no mount.re2po process serves " + mountpoint_.string();
    pid_ = *pid;
    return "";
  }

  // SIGKILL, as the OOM killer or a crash would; the mount stays, stale.
  bool Kill() {
    if (pid_ <= 0 || ::kill(pid_, SIGKILL) != 0) return false;
    const bool gone = WaitFor([&] { return !ProcessRuns(pid_); }, std::chrono::seconds(30));
    pid_ = -1;
    return gone;
  }

  // Unmounts and waits (bounded) for the daemon to let go of its cache.
  void Stop() {
    guard_.Unmount();
    if (pid_ > 0 && !WaitFor([&] { return !ProcessRuns(pid_); }, std::chrono::seconds(20))) {
      std::cerr << name_ << ": mount.re2po " << pid_ << " outlived its unmount; killing it\n";
      ::kill(pid_, SIGKILL);
      WaitFor([&] { return !ProcessRuns(pid_); }, std::chrono::seconds(10));
    }
    pid_ = -1;
  }

  const std::string& name() const { return name_; }
  const stdfs::path& mountpoint() const { return mountpoint_; }
  const stdfs::path& cache_dir() const { return cache_dir_; }
  const stdfs::path& log_path() const { return log_; }
  pid_t pid() const { return pid_; }
  // What the last mount.re2po said before it went to the background.
  const std::string& mount_messages() const { return mount_messages_; }
  std::string Log() const { return FileText(log_); }

 private:
  std::string name_;
  stdfs::path mountpoint_;
  stdfs::path cache_dir_;
  stdfs::path log_;
  UnmountGuard guard_;
  pid_t pid_ = -1;
  std::string mount_messages_;
};

// Fleet tests with real processes: a publisher key made by `re2po key
// generate`, signed `re2po push`, and node daemons that trust the key.
class FleetProcessTest : public FleetTest {
 protected:
  void SetUp() override {
    FleetTest::SetUp();
    if (IsSkipped()) return;
    key_ = tmp_.path() / "keys" / "publisher";
    stdfs::create_directories(key_.parent_path());
    CommandResult made = Re2po("key generate " + ShellQuote(key_.string()));
    ASSERT_EQ(made.exit_code, 0) << made.err;
  }

  CommandResult Re2po(const std::string& args) const {
    return RunCommand(S3Environment() + ShellQuote(BuiltTool("re2po")) + " --store " +
                      ShellQuote(store_dir().string()) + " " + args + "; exit $?");
  }

  // `re2po push URL REFS --key KEY --json`; its summary, or a failure.
  ::testing::AssertionResult PushSigned(const std::string& refs, nlohmann::json& summary) const {
    CommandResult pushed =
        Re2po("push " + url() + " " + refs + " --key " + ShellQuote(key_.string()) + " --json");
    if (pushed.exit_code != 0) {
      return ::testing::AssertionFailure() << "re2po push " << refs << ": " << pushed.err;
    }
    summary = nlohmann::json::parse(pushed.out, nullptr, /*allow_exceptions=*/false);
    if (summary.is_discarded()) {
      return ::testing::AssertionFailure() << "re2po push printed no JSON: " << pushed.out;
    }
    return ::testing::AssertionSuccess();
  }

  // A node named `name`: mountpoint, cache directory and log of its own.
  std::unique_ptr<NodeDaemon> NewNode(const std::string& name) const {
    return std::make_unique<NodeDaemon>(name, tmp_.path() / "mnt" / name, cache_dir(name),
                                        tmp_.path() / "logs" / (name + ".log"));
  }

  // The mount.re2po command line that mounts the remote on `node`.
  std::string MountCommand(const NodeDaemon& node, const std::string& extra_options = "") const {
    stdfs::create_directories(node.log_path().parent_path());
    // The node's name is its User-Agent: the engine's log tells nodes apart.
    const std::string options =
        (env_ ? "endpoint=" + env_->settings.endpoint + "," : "") +
        "cache_dir=" + node.cache_dir().string() + ",trust=" + key_.string() +
        ".pub,log_file=" + node.log_path().string() + ",user_agent=" + node.name() + extra_options;
    return S3Environment() + ShellQuote(BuiltTool("mount.re2po")) + " " + url() + " " +
           ShellQuote(node.mountpoint().string()) + " -o " + ShellQuote(options);
  }

  stdfs::path key_;
};

}  // namespace re2po::testing
