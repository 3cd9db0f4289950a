#include "fs/core/access_log.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <set>

#include "store/base/clock.h"
#include "store/base/log.h"

namespace re2po::fs {
namespace {

std::shared_ptr<spdlog::logger> Log() { return Logger("access"); }

// The length of the valid UTF-8 sequence at text[at], or 0.
size_t Utf8Length(std::string_view text, size_t at) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  size_t length = lead < 0xC2 ? 0 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : lead < 0xF5 ? 4 : 0;
  if (length == 0 || at + length > text.size()) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(at + i) & 0xC0) != 0x80) return 0;
  }
  // Overlong three- and four-byte forms, surrogates, and past U+10FFFF.
  if ((lead == 0xE0 && byte(at + 1) < 0xA0) || (lead == 0xED && byte(at + 1) > 0x9F) ||
      (lead == 0xF0 && byte(at + 1) < 0x90) || (lead == 0xF4 && byte(at + 1) > 0x8F)) {
    return 0;
  }
  return length;
}

void AppendJsonString(std::string& out, std::string_view text) {
  out += '"';
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else if (c >= 0x80) {
      const size_t length = Utf8Length(text, i);
      if (length == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD: a log line must stay valid JSON
        ++i;
        continue;
      }
      out.append(text.substr(i, length));
      i += length;
      continue;
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  out += '"';
}

void AppendField(std::string& out, std::string_view name, std::string_view value) {
  out += ",\"";
  out += name;
  out += "\":";
  AppendJsonString(out, value);
}

void AppendNumber(std::string& out, std::string_view name, int64_t value) {
  out += ",\"";
  out += name;
  out += "\":";
  out += std::to_string(value);
}

void AppendTime(std::string& out, int64_t time_ns) {
  out += "{\"time\":";
  AppendJsonString(out, Rfc3339Millis(time_ns));
  AppendNumber(out, "time_ns", time_ns);
}

// A small /proc file, whole; "" when it cannot be read.
std::string ReadProcFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string text(4096, '\0');
  size_t used = 0;
  while (used < text.size()) {
    const ssize_t n = ::read(fd, text.data() + used, text.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    used += static_cast<size_t>(n);
  }
  ::close(fd);
  text.resize(used);
  return text;
}

pid_t ThreadGroupOf(pid_t tid) {
  const std::string status = ReadProcFile("/proc/" + std::to_string(tid) + "/status");
  const size_t at = status.find("\nTgid:");
  if (at == std::string::npos) return tid;
  size_t begin = at + 6;
  while (begin < status.size() && (status[begin] == ' ' || status[begin] == '\t')) ++begin;
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(status.data() + begin, status.data() + status.size(), pid);
  return ec == std::errc() && pid > 0 ? pid : tid;
}

// Blocks the termination signals: they belong to the FUSE loop (mount.cc).
void BlockTerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

Result<int> OpenForAppend(const std::filesystem::path& path) {
  // 0640: the log names users' processes and containers.
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Status::FromErrno(errno, "opening " + path.string());
  return fd;
}

std::filesystem::path Rotated(const std::filesystem::path& path, int n) {
  return path.string() + "." + std::to_string(n);
}

}  // namespace

std::string Rfc3339Millis(int64_t time_ns) {
  const time_t seconds = static_cast<time_t>(time_ns / 1'000'000'000);
  const int millis = static_cast<int>(time_ns % 1'000'000'000 / 1'000'000);
  tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  const size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + n, sizeof text - n, ".%03dZ", millis);
  return text;
}

std::string AccessRecordJson(const AccessRecord& record) {
  std::string line;
  line.reserve(256 + record.path.size() + record.cgroup.size());
  AppendTime(line, record.time_ns);
  AppendField(line, "model", record.model);
  AppendNumber(line, "version", static_cast<int64_t>(record.version));
  AppendField(line, "path", record.path);
  AppendNumber(line, "uid", record.uid);
  AppendNumber(line, "pid", record.pid);
  AppendField(line, "command", record.command);
  AppendField(line, "cgroup", record.cgroup);
  AppendField(line, "served_from", record.served_from);
  if (!record.refused.empty()) AppendField(line, "refused", record.refused);
  AppendField(line, "mount", record.mount);
  line += '}';
  return line;
}

std::string LostRecordJson(int64_t time_ns, uint64_t lost) {
  std::string line;
  AppendTime(line, time_ns);
  AppendNumber(line, "lost", static_cast<int64_t>(lost));
  line += '}';
  return line;
}

ProcessIdentity IdentifyProcess(pid_t tid) {
  ProcessIdentity identity;
  if (tid <= 0) return identity;
  identity.pid = ThreadGroupOf(tid);
  const std::string proc = "/proc/" + std::to_string(identity.pid);
  identity.command = ReadProcFile(proc + "/comm");
  while (!identity.command.empty() && identity.command.back() == '\n') identity.command.pop_back();
  identity.cgroup = CgroupOf(ReadProcFile(proc + "/cgroup"));
  return identity;
}

std::string CgroupOf(std::string_view proc_cgroup) {
  std::string unified;
  std::vector<std::string> v1_paths;
  std::set<std::string> seen;
  while (!proc_cgroup.empty()) {
    const size_t end = proc_cgroup.find('\n');
    const std::string_view line = proc_cgroup.substr(0, end);
    proc_cgroup = end == std::string_view::npos ? "" : proc_cgroup.substr(end + 1);
    // "ID:CONTROLLERS:PATH"; the path may itself hold ':'.
    const size_t first = line.find(':');
    const size_t second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    const std::string path(line.substr(second + 1));
    if (line.substr(0, second) == "0:") {
      unified = path;
    } else if (path != "/" && seen.insert(path).second) {
      v1_paths.push_back(path);
    }
  }
  if (!unified.empty() && unified != "/") return unified;
  if (v1_paths.empty()) return "/";
  std::string joined;
  for (const std::string& path : v1_paths) joined += (joined.empty() ? "" : ",") + path;
  return joined;
}

Result<std::unique_ptr<AccessLog>> AccessLog::Open(AccessLogOptions options) {
  std::error_code ec;
  const std::filesystem::path dir = options.path.parent_path();
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("creating " + dir.string() + ": " + ec.message());
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return Status::FromErrno(errno, "opening " + dir.string());
  Result<int> fd = OpenForAppend(options.path);
  if (!fd.ok()) {
    ::close(dir_fd);
    return fd.status();
  }
  return std::unique_ptr<AccessLog>(new AccessLog(std::move(options), dir_fd, *fd));
}

AccessLog::AccessLog(AccessLogOptions options, int dir_fd, int fd)
    : options_(std::move(options)), dir_fd_(dir_fd), fd_(fd), queue_(options_.queue_records) {
  if (options_.background) writer_ = std::thread([this] { Run(); });
}

AccessLog::~AccessLog() {
  {
    std::lock_guard lock(wake_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (writer_.joinable()) writer_.join();
  Status last = DrainOnce();
  if (!last.ok()) Log()->warn("access log: {}", last.ToString());
  ::close(fd_);
  ::close(dir_fd_);
}

bool AccessLog::Submit(AccessRecord record) {
  if (!queue_.TryPush(record)) {
    lost_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  const uint64_t pending = submitted_.fetch_add(1, std::memory_order_relaxed) + 1 -
                           drained_.load(std::memory_order_relaxed);
  // Half full: wake the writer now rather than at its next tick. Once per
  // crossing, so a burst costs one wake-up, not one per record.
  if (pending == queue_.capacity() / 2) wake_.notify_one();
  return true;
}

void AccessLog::Run() {
  BlockTerminationSignals();
  std::unique_lock lock(wake_mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.drain_every);
    lock.unlock();
    Status drained = DrainOnce();
    if (!drained.ok() && !warned_) {
      Log()->warn("access log: {} (records are counted as lost until it works again)",
                  drained.ToString());
      warned_ = true;
    } else if (drained.ok() && warned_) {
      Log()->info("access log: writing again to {}", options_.path.string());
      warned_ = false;
    }
    lock.lock();
  }
}

Status AccessLog::DrainOnce() {
  std::lock_guard lock(drain_mutex_);
  std::string lines;
  uint64_t records = 0;
  AccessRecord record;
  while (queue_.TryPop(record)) {
    lines += AccessRecordJson(record);
    lines += '\n';
    ++records;
  }
  drained_.fetch_add(records, std::memory_order_relaxed);
  const uint64_t lost = lost_.load(std::memory_order_relaxed);
  const uint64_t reported_before = lost_reported_;
  if (lost > lost_reported_) {
    lines += LostRecordJson(NowNs(), lost - lost_reported_);
    lines += '\n';
    lost_reported_ = lost;
  }
  if (lines.empty()) return Status::Ok();
  Status status = Write(lines);
  if (!status.ok()) {
    // Not on disk: these are lost too, and the count is said again later.
    lost_.fetch_add(records, std::memory_order_relaxed);
    lost_reported_ = reported_before;
    return status;
  }
  written_.fetch_add(records, std::memory_order_relaxed);
  return Status::Ok();
}

Status AccessLog::Write(std::string_view lines) {
  RETURN_IF_ERROR(ReopenIfRotatedElsewhere());
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return Status::FromErrno(errno, "stat " + options_.path.string());
  if (st.st_size > 0 && static_cast<uint64_t>(st.st_size) + lines.size() > options_.rotate_bytes) {
    RETURN_IF_ERROR(Rotate());
  }
  while (!lines.empty()) {
    const ssize_t n = ::write(fd_, lines.data(), lines.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "writing " + options_.path.string());
    lines.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Another mount of the same store may have rotated the file under us: our
// descriptor then points at PATH.1, and new lines belong in the new PATH.
Status AccessLog::ReopenIfRotatedElsewhere() {
  struct stat ours {
  }, named{};
  if (::fstat(fd_, &ours) != 0) return Status::FromErrno(errno, "stat " + options_.path.string());
  if (::stat(options_.path.c_str(), &named) == 0 && named.st_ino == ours.st_ino &&
      named.st_dev == ours.st_dev) {
    return Status::Ok();
  }
  return Reopen();
}

Status AccessLog::Reopen() {
  ASSIGN_OR_RETURN(int fd, OpenForAppend(options_.path));
  ::close(fd_);
  fd_ = fd;
  return Status::Ok();
}

Status AccessLog::Rotate() {
  if (::flock(dir_fd_, LOCK_EX) != 0) return Status::FromErrno(errno, "locking the access log");
  struct Unlock {
    int fd;
    ~Unlock() { ::flock(fd, LOCK_UN); }
  } unlock{dir_fd_};
  struct stat ours {
  }, named{};
  if (::fstat(fd_, &ours) == 0 && ::stat(options_.path.c_str(), &named) == 0 &&
      named.st_ino != ours.st_ino) {
    return Reopen();  // rotated by another mount while we waited for the lock
  }
  std::error_code ec;
  if (options_.keep_rotated <= 0) {
    std::filesystem::remove(options_.path, ec);
  } else {
    for (int n = options_.keep_rotated; n > 1; --n) {
      if (std::filesystem::exists(Rotated(options_.path, n - 1), ec)) {
        std::filesystem::rename(Rotated(options_.path, n - 1), Rotated(options_.path, n), ec);
      }
    }
    std::filesystem::rename(options_.path, Rotated(options_.path, 1), ec);
  }
  if (ec) return Status::IOError("rotating " + options_.path.string() + ": " + ec.message());
  return Reopen();
}

std::unique_ptr<AccessLog> OpenMountAccessLog(const MountOptions& options) {
  if (!options.access_log) return nullptr;
  AccessLogOptions log_options;
  log_options.path = options.access_log_path.empty() ? options.store_dir / "access" / "access.jsonl"
                                                     : options.access_log_path;
  Result<std::unique_ptr<AccessLog>> log = AccessLog::Open(log_options);
  if (!log.ok()) {
    Log()->warn("not writing the access log: {}", log.status().ToString());
    return nullptr;
  }
  Log()->info("logging opens to {}", log_options.path.string());
  return std::move(log).value();
}

std::vector<std::filesystem::path> AccessLogFiles(const std::filesystem::path& path) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (int n = 1; std::filesystem::exists(Rotated(path, n), ec); ++n) {
    files.insert(files.begin(), Rotated(path, n));
  }
  if (std::filesystem::exists(path, ec)) files.push_back(path);
  return files;
}

}  // namespace re2po::fs
