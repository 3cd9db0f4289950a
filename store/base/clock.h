// The wall clock as records store it.
#pragma once

#include <chrono>
#include <cstdint>

namespace re2po {

// Nanoseconds since the Unix epoch.
inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace re2po
