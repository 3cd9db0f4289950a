#include "store/base/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace re2po {
namespace {
std::mutex& LoggerMutex() {
  static std::mutex mutex;
  return mutex;
}
}  // namespace

std::shared_ptr<spdlog::logger> Logger(const std::string& subsystem) {
  std::lock_guard lock(LoggerMutex());
  if (auto existing = spdlog::get(subsystem)) return existing;
  auto logger = spdlog::stderr_color_mt(subsystem);
  logger->set_level(spdlog::get_level());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %n %l: %v");
  return logger;
}

void SetLogLevel(const std::string& level) {
  std::lock_guard lock(LoggerMutex());
  spdlog::set_level(spdlog::level::from_str(level));  // also applies to registered loggers
}

}  // namespace re2po
