// Progress of long operations (import, gc, verify, export, pull).
#pragma once

#include <cstdint>
#include <functional>

namespace re2po {

// Called with (bytes done, bytes total) as an operation advances.
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

}  // namespace re2po
