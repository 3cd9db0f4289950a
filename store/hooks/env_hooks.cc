// The test hooks of test builds, read from the environment (test_hooks.h).
#include "store/hooks/test_hooks.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

namespace re2po {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

const std::string& Configured() {
  static const std::string value = Env("RE2PO_CRASH_POINT");
  return value;
}

[[noreturn]] void Die() {
  kill(getpid(), SIGKILL);
  _exit(137);
}

const std::string& ConfiguredDelay() {
  static const std::string value = Env("RE2PO_TEST_DELAY");
  return value;
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

void CrashPointChunkBytes(uint64_t chunk_bytes) {
  const std::string& point = Configured();
  if (!point.starts_with("chunk-bytes:")) return;
  static const uint64_t limit = std::strtoull(point.c_str() + 12, nullptr, 10);
  static std::atomic<uint64_t> hashed{0};
  if (hashed.fetch_add(chunk_bytes) + chunk_bytes >= limit) Die();
}

void TestDelay(std::string_view name) {
  const std::string& delay = ConfiguredDelay();
  if (delay.size() <= name.size() || !delay.starts_with(name) || delay[name.size()] != ':') return;
  const auto ms = std::strtoull(delay.c_str() + name.size() + 1, nullptr, 10);
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

}  // namespace re2po
