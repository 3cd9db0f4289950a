// What names the store accepts. Model names are a safe, documented set;
// path components are anything a POSIX filesystem takes except what would
// let a mounted tree escape its version or confuse a terminal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/base/status.h"

namespace re2po {

inline constexpr size_t kMaxModelNameLength = 128;
inline constexpr size_t kMaxComponentLength = 255;

// [A-Za-z0-9][A-Za-z0-9._-]* , at most 128 bytes.
Status ValidateModelName(std::string_view name);
// Not empty, not "." or "..", no '/', NUL or control characters, <= 255 bytes.
Status ValidatePathComponent(std::string_view component);
// Decimal, no sign, no leading zeros (TensorFlow Serving and Triton ignore those).
Result<uint64_t> ParseVersionNumber(std::string_view text);

// "model@version" or "model" (version absent), as the CLI takes them.
struct VersionRef {
  std::string model;
  std::optional<uint64_t> version;
};
Result<VersionRef> ParseVersionRef(std::string_view text);

}  // namespace re2po
