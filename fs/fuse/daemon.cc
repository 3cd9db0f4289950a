#include "fs/fuse/daemon.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "store/base/log.h"

namespace re2po::fs {
namespace {

constexpr char kReady = 'R';
constexpr char kFailed = 'E';

// Reads the child's report (kind byte, then message) until EOF; nullopt on timeout.
std::optional<std::string> ReadReport(int fd, std::chrono::seconds timeout) {
  std::string report;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd pfd{fd, POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // timeout is checked above
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return report;
    report.append(buffer, static_cast<size_t>(n));
  }
}

int ParentWait(pid_t child, int fd, std::chrono::seconds timeout) {
  const std::optional<std::string> read = ReadReport(fd, timeout);
  ::close(fd);
  if (!read) {
    PrintError("the mount did not answer within %lld s; stopping it",
               static_cast<long long>(timeout.count()));
    ::kill(child, SIGTERM);
    return 1;
  }
  const std::string& report = *read;
  if (!report.empty() && report[0] == kReady) return 0;
  if (!report.empty() && report[0] == kFailed) {
    PrintError("%s", report.c_str() + 1);
    ::waitpid(child, nullptr, 0);
    return 1;
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  if (WIFSIGNALED(status)) {
    PrintError("the mount process died of signal %d before it was ready", WTERMSIG(status));
  } else {
    PrintError("the mount process exited (%d) before it was ready", WEXITSTATUS(status));
  }
  return 1;
}

Status RedirectStdio(const std::filesystem::path& log_file) {
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) return Status::FromErrno(errno, "opening /dev/null");
  int err_fd = null_fd;
  if (!log_file.empty()) {
    err_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (err_fd < 0) {
      Status status = Status::FromErrno(errno, "opening log file " + log_file.string());
      ::close(null_fd);
      return status;
    }
  }
  ::dup2(null_fd, STDIN_FILENO);
  ::dup2(null_fd, STDOUT_FILENO);
  ::dup2(err_fd, STDERR_FILENO);
  if (err_fd != null_fd) ::close(err_fd);
  ::close(null_fd);
  return Status::Ok();
}

}  // namespace

StartupReporter::~StartupReporter() {
  if (fd_ >= 0) ::close(fd_);
}

void StartupReporter::Attach(int fd) {
  std::lock_guard lock(mutex_);
  fd_ = fd;
}

void StartupReporter::Ready(const std::string& message) {
  Logger("fs")->info("{}", message);
  Send(kReady, message);
}

void StartupReporter::Failed(const Status& status) {
  Logger("fs")->error("{}", status.ToString());
  Send(kFailed, status.ToString());
}

void StartupReporter::Send(char kind, const std::string& message) {
  std::lock_guard lock(mutex_);
  if (reported_) return;
  reported_ = true;
  if (fd_ < 0) return;
  const std::string report = kind + message;
  size_t done = 0;
  while (done < report.size()) {
    ssize_t n = ::write(fd_, report.data() + done, report.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the parent is gone: nobody to tell
    done += static_cast<size_t>(n);
  }
  ::close(fd_);
  fd_ = -1;
}

std::optional<int> ForkToBackground(StartupReporter& reporter,
                                    const std::filesystem::path& log_file,
                                    std::chrono::seconds timeout) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    PrintError("pipe: %s", std::strerror(errno));
    return 1;
  }
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    PrintError("fork: %s", std::strerror(errno));
    return 1;
  }
  if (pid > 0) {
    ::close(fds[1]);
    return ParentWait(pid, fds[0], timeout);
  }
  ::close(fds[0]);
  reporter.Attach(fds[1]);
  ::setsid();
  Status redirected = RedirectStdio(log_file);
  if (!redirected.ok()) {
    reporter.Failed(redirected);
    ::_exit(1);
  }
  return std::nullopt;
}

void PrintError(const char* format, ...) {
  char message[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(message, sizeof message, format, args);
  va_end(args);
  std::fprintf(stderr, "%s: error: %s\n", program_invocation_short_name, message);
}

}  // namespace re2po::fs
