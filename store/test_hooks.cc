#include "store/test_hooks.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace re2po {
namespace {

const std::string& Configured() {
  static const std::string value = [] {
    const char* env = std::getenv("RE2PO_CRASH_POINT");
    return std::string(env ? env : "");
  }();
  return value;
}

[[noreturn]] void Die() {
  kill(getpid(), SIGKILL);
  _exit(137);
}

}  // namespace

void CrashPoint(std::string_view name) {
  if (!Configured().empty() && Configured() == name) Die();
}

void CrashPointBytes(uint64_t bytes_done) {
  const std::string& point = Configured();
  if (!point.starts_with("bytes:")) return;
  static const uint64_t limit = std::strtoull(point.c_str() + 6, nullptr, 10);
  if (bytes_done >= limit) Die();
}

}  // namespace re2po
