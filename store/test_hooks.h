// Crash points for the crash-safety tests (docs/reliability.md). Set
// RE2PO_CRASH_POINT to a point name ("before-commit", "after-commit") or to
// "bytes:N" to die with SIGKILL when an import has processed N bytes. Unset,
// these cost one cached getenv.
#pragma once

#include <cstdint>
#include <string_view>

namespace re2po {

void CrashPoint(std::string_view name);
void CrashPointBytes(uint64_t bytes_done);

}  // namespace re2po
