// One named spdlog logger per subsystem ("store", "import", "gc", "fs", ...),
// created on first use; levels are set together by SetLogLevel.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace re2po {

std::shared_ptr<spdlog::logger> Logger(const std::string& subsystem);
// "trace", "debug", "info", "warn", "error", "off".
void SetLogLevel(const std::string& level);

}  // namespace re2po
