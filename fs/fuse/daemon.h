// Going to the background the way mount(8) and scripts expect: the calling
// process returns only once the mount answers (or has failed, with the
// reason), so the next line of a script can use it.
#pragma once

#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>

#include "store/base/status.h"

namespace re2po::fs {

// The server's side of the startup pipe. Without a pipe (foreground) it only
// logs. The first report wins; later ones are ignored. Thread-safe.
class StartupReporter {
 public:
  StartupReporter() = default;
  ~StartupReporter();
  StartupReporter(const StartupReporter&) = delete;
  StartupReporter& operator=(const StartupReporter&) = delete;

  void Attach(int fd);
  void Ready(const std::string& message);
  void Failed(const Status& status);

 private:
  void Send(char kind, const std::string& message);

  std::mutex mutex_;
  int fd_ = -1;
  bool reported_ = false;
};

// Prints "<program>: error: <message>" on stderr: the one shape of an error
// line in re2po's programs (re2po mount and mount.re2po share this code).
[[gnu::format(printf, 1, 2)]] void PrintError(const char* format, ...);

// Forks. In the parent, waits (up to `timeout`) for the child's report and
// returns the exit code: 0 once it reported ready, else 1 after printing its
// error. In the child, returns nullopt with `reporter` attached, in a new
// session, stdin/stdout on /dev/null and stderr on `log_file` (appended) or
// /dev/null.
std::optional<int> ForkToBackground(StartupReporter& reporter,
                                    const std::filesystem::path& log_file,
                                    std::chrono::seconds timeout);

}  // namespace re2po::fs
