#include "store/fleet/remote_keys.h"

#include <cstdio>
#include <random>

namespace re2po::remote_keys {

std::string Pack(const Digest& pack) { return std::string(kPackPrefix) + pack.Hex(); }

std::string Version(const Digest& object) { return std::string(kVersionPrefix) + object.Hex(); }

std::string NewLogRecord(int64_t time_ms) {
  std::random_device random;
  const uint64_t suffix = (uint64_t{random()} << 32) | random();
  char name[64];
  std::snprintf(name, sizeof name, "%020lld-%016llx", static_cast<long long>(time_ms),
                static_cast<unsigned long long>(suffix));
  return std::string(kLogPrefix) + name;
}

bool IsLogRecord(std::string_view key) {
  if (!key.starts_with(kLogPrefix)) return false;
  const std::string_view name = key.substr(kLogPrefix.size());
  if (name.size() != 37 || name[20] != '-') return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool digit = c >= '0' && c <= '9';
    const bool hex = digit || (c >= 'a' && c <= 'f');
    if (i < 20 ? !digit : (i > 20 && !hex)) return false;
  }
  return true;
}

}  // namespace re2po::remote_keys
