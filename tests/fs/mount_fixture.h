// Helpers for the mounted-filesystem tests: a store built through the store
// API, a mount of it run through the real mount.re2po binary that is always
// unmounted (fusermount3 -u, then umount -l) even when a test fails, and a
// walk that compares a mounted version with its source. Header-only: the
// test folder builds only *_test.cc files.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"
#include "tests/testutil/testutil.h"

namespace re2po::testing {
namespace stdfs = std::filesystem;

inline constexpr long kFuseMagic = 0x65735546;

// Waits for `done` (checked every 20 ms) up to `timeout`; a failure guard,
// never a speed assertion.
template <typename Predicate>
bool WaitFor(Predicate done, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

// Why FUSE mounts cannot run here, or "" when they can.
inline std::string FuseUnavailableReason() {
  if (::access("/dev/fuse", R_OK | W_OK) != 0) return "/dev/fuse is not usable";
  if (!stdfs::exists(BuiltTool("mount.re2po"))) {
    return "mount.re2po is not built (cmake --build . --target mount.re2po)";
  }
  return "";
}
#define REQUIRE_FUSE()                                                          \
  do {                                                                          \
    const std::string reason = ::re2po::testing::FuseUnavailableReason();       \
    if (!reason.empty()) GTEST_SKIP() << "no FUSE mounts possible: " << reason; \
  } while (0)

inline bool IsServedMount(const stdfs::path& mountpoint) {
  struct statfs info {};
  struct stat st {};
  return ::statfs(mountpoint.c_str(), &info) == 0 && info.f_type == kFuseMagic &&
         ::stat(mountpoint.c_str(), &st) == 0 && st.st_ino == 1;
}

inline void ForceUnmount(const stdfs::path& mountpoint) {
  RunCommand("fusermount3 -u " + ShellQuote(mountpoint.string()));
  struct statfs info {};
  if (::statfs(mountpoint.c_str(), &info) != 0 || info.f_type == kFuseMagic) {
    RunCommand("umount -l " + ShellQuote(mountpoint.string()));
  }
}

// Unmounts (forcibly, lazily) at scope exit or when told to.
class UnmountGuard {
 public:
  explicit UnmountGuard(stdfs::path mountpoint) : mountpoint_(std::move(mountpoint)) {}
  ~UnmountGuard() { Unmount(); }
  UnmountGuard(const UnmountGuard&) = delete;
  UnmountGuard& operator=(const UnmountGuard&) = delete;

  void Unmount() {
    if (mounted_) ForceUnmount(mountpoint_);
    mounted_ = false;
  }

 private:
  stdfs::path mountpoint_;
  bool mounted_ = true;
};

// A store in a temporary directory, written through the store API.
class TestStore {
 public:
  TestStore() : dir_(tmp_.path() / "store") {
    Status init = Store::Init(dir_);
    if (!init.ok()) ADD_FAILURE() << init.ToString();
  }
  const stdfs::path& dir() const { return dir_; }
  const stdfs::path& scratch() const { return tmp_.path(); }

  Store& writer() {
    if (!writer_) {
      StoreOptions options;
      options.dir = dir_;
      options.writer = true;
      auto opened = Store::Open(options);
      if (!opened.ok()) throw std::runtime_error(opened.status().ToString());
      writer_ = std::move(opened).value();
    }
    return *writer_;
  }
  void CloseWriter() { writer_.reset(); }

  ImportSummary Import(const std::string& model, uint64_t version, const stdfs::path& source,
                       std::map<std::string, std::string> labels = {}) {
    ImportRequest request;
    request.model = model;
    request.version = version;
    request.source = source;
    request.labels = std::move(labels);
    auto summary = writer().Import(request);
    if (!summary.ok()) throw std::runtime_error(summary.status().ToString());
    return std::move(summary).value();
  }

 private:
  TempDir tmp_;
  stdfs::path dir_;
  std::unique_ptr<Store> writer_;
};

struct TestMountOptions {
  std::string fuse_options;  // -o value
  bool background = false;
};

// One mount.re2po process serving `store` on a fresh mountpoint. Foreground
// by default (the test owns the pid); `background` uses the daemonizing path.
class TestMount {
 public:
  using Options = TestMountOptions;

  TestMount(const stdfs::path& store, Options options = {})
      : store_(store),
        mountpoint_(tmp_.path() / "mnt"),
        log_(tmp_.path() / "mount.log"),
        options_(std::move(options)) {
    stdfs::create_directories(mountpoint_);
  }
  // Reuses an existing mountpoint (remount tests).
  TestMount(const stdfs::path& store, const stdfs::path& mountpoint, Options options)
      : store_(store),
        mountpoint_(mountpoint),
        log_(tmp_.path() / "mount.log"),
        options_(std::move(options)) {}
  ~TestMount() { Stop(); }
  TestMount(const TestMount&) = delete;
  TestMount& operator=(const TestMount&) = delete;

  // Mounts and waits until the mount answers; "" or what went wrong.
  std::string Start() { return options_.background ? StartBackground() : StartForeground(); }

  // Unmounts (always), waits for the daemon to exit.
  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    ReportUnexpectedExit();
    ForceUnmount(mountpoint_);
    if (pid_ > 0) {
      if (!WaitForExit(std::chrono::seconds(20))) {
        ::kill(pid_, SIGKILL);
        WaitForExit(std::chrono::seconds(5));
        ForceUnmount(mountpoint_);
      }
    }
  }

  // For lifecycle tests: the daemon's exit status once it has exited.
  bool WaitForExit(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return true;
    const bool exited = WaitFor(
        [&] {
          int status = 0;
          pid_t r = ::waitpid(pid_, &status, WNOHANG);
          if (r == pid_) exit_status_ = status;
          return r == pid_ || (r < 0 && errno == ECHILD);
        },
        timeout);
    if (exited) pid_ = -1;
    return exited;
  }
  void Forget() { stopped_ = true; }  // the test unmounted and checked by itself

  pid_t pid() const { return pid_; }
  int exit_status() const { return exit_status_; }
  const stdfs::path& mountpoint() const { return mountpoint_; }
  stdfs::path path(const std::string& relative) const { return mountpoint_ / relative; }
  std::string Log() const {
    std::ifstream in(log_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  std::string StartForeground() {
    std::vector<std::string> args = {BuiltTool("mount.re2po"), store_.string(),
                                     mountpoint_.string(), "--foreground"};
    if (!options_.fuse_options.empty()) {
      args.push_back("-o");
      args.push_back(options_.fuse_options);
    }
    pid_ = SpawnWithLog(std::move(args), log_);
    if (pid_ < 0) return std::string("fork failed: ") + std::strerror(errno);
    const bool ready = WaitFor([&] {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return true;
      }
      return IsServedMount(mountpoint_);
    });
    if (pid_ < 0) return "mount.re2po exited early: " + Log();
    if (!ready) return "mount did not answer within 30 s: " + Log();
    return "";
  }

  // A daemon that died before the test stopped it (a crash, a sanitizer
  // report) leaves the test with ENOTCONN only; its log says why.
  void ReportUnexpectedExit() {
    if (pid_ <= 0) return;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return;
    pid_ = -1;
    exit_status_ = status;
    std::cerr << "mount.re2po exited before the test stopped it ("
              << (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                      : "exit code " + std::to_string(WEXITSTATUS(status)))
              << "); its log:\n"
              << Log() << "\n";
  }

  std::string StartBackground() {
    std::string command =
        ShellQuote(BuiltTool("mount.re2po")) + " " + ShellQuote(store_.string()) + " " +
        ShellQuote(mountpoint_.string()) + " -o " +
        ShellQuote("log_file=" + log_.string() + (options_.fuse_options.empty() ? "" : ",") +
                   options_.fuse_options);
    CommandResult result = RunCommand(command);
    if (result.exit_code != 0) return "mount.re2po failed: " + result.err + Log();
    if (!IsServedMount(mountpoint_)) return "mount.re2po returned 0 but nothing answers";
    return "";
  }

  TempDir tmp_;
  stdfs::path store_;
  stdfs::path mountpoint_;
  stdfs::path log_;
  Options options_;
  pid_t pid_ = -1;
  int exit_status_ = 0;
  bool stopped_ = false;
};

#define START_MOUNT(mount)                            \
  do {                                                \
    const std::string mount_error_ = (mount).Start(); \
    ASSERT_EQ(mount_error_, "");                      \
  } while (0)

// Damages a stored chunk: flips bytes wherever `needle` (bytes of the
// chunk, stored raw) occurs in the files under `dir`; returns the files
// changed.
inline std::vector<stdfs::path> FlipBytesWhereFound(const stdfs::path& dir,
                                                    const std::vector<uint8_t>& needle) {
  std::vector<stdfs::path> changed;
  const std::string pattern(needle.begin(), needle.end());
  for (const auto& entry : stdfs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::vector<uint8_t> bytes = ReadFileBytes(entry.path());
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    size_t at = text.find(pattern);
    if (at == std::string_view::npos) continue;
    for (; at != std::string_view::npos; at = text.find(pattern, at + 1)) {
      for (size_t i = 100; i < 110; ++i) bytes[at + i] ^= 0x5a;
    }
    std::fstream out(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    changed.push_back(entry.path());
  }
  return changed;
}

// Compares a mounted version with its source: the same names, types,
// permission bits and sizes, file bytes (SHA-256) and symlink targets.
// Returns the differences, one per line.
inline std::string CompareTrees(const stdfs::path& source, const stdfs::path& mounted) {
  std::ostringstream diffs;
  std::set<std::string> source_names, mounted_names;
  for (const auto& entry : stdfs::directory_iterator(source)) {
    source_names.insert(entry.path().filename().string());
  }
  std::error_code ec;
  for (const auto& entry : stdfs::directory_iterator(mounted, ec)) {
    mounted_names.insert(entry.path().filename().string());
  }
  if (ec) return "cannot list " + mounted.string() + ": " + ec.message() + "\n";
  if (source_names != mounted_names) diffs << "names differ in " << mounted << "\n";
  for (const std::string& name : source_names) {
    if (!mounted_names.contains(name)) continue;
    const stdfs::path a = source / name, b = mounted / name;
    struct stat sa {
    }, sb{};
    if (::lstat(a.c_str(), &sa) != 0 || ::lstat(b.c_str(), &sb) != 0) {
      diffs << "cannot lstat " << b << ": " << std::strerror(errno) << "\n";
      continue;
    }
    if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT)) {
      diffs << b << ": type differs\n";
      continue;
    }
    if (S_ISLNK(sa.st_mode)) {
      if (stdfs::read_symlink(a) != stdfs::read_symlink(b)) diffs << b << ": target differs\n";
      continue;
    }
    if ((sa.st_mode & 07777) != (sb.st_mode & 07777)) {
      diffs << b << ": mode " << std::oct << (sb.st_mode & 07777) << " != " << (sa.st_mode & 07777)
            << std::dec << "\n";
    }
    if (S_ISDIR(sa.st_mode)) {
      diffs << CompareTrees(a, b);
    } else if (sa.st_size != sb.st_size) {
      diffs << b << ": size " << sb.st_size << " != " << sa.st_size << "\n";
    } else if (Sha256Hex(a) != Sha256Hex(b)) {
      diffs << b << ": content differs\n";
    }
  }
  return diffs.str();
}

// The names of `dir` (without . and ..) in readdir order.
inline std::vector<std::string> ListInOrder(const stdfs::path& dir) {
  std::vector<std::string> names;
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) return names;
  while (dirent* entry = ::readdir(handle)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(handle);
  return names;
}

// pread that retries short reads; returns bytes read or -errno.
inline ssize_t PreadFully(int fd, uint8_t* out, size_t size, off_t offset) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, out + done, size - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(done);
}

}  // namespace re2po::testing
