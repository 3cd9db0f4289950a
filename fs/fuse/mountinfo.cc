#include "fs/fuse/mountinfo.h"

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

namespace re2po::fs {

std::string UnescapeMountInfoField(std::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    const bool octal = field[i] == '\\' && i + 3 < field.size() &&
                       std::all_of(field.begin() + i + 1, field.begin() + i + 4,
                                   [](char c) { return c >= '0' && c <= '7'; });
    if (octal) {
      out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                               (field[i + 3] - '0'));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

Result<MountInfoEntry> FindMount(const std::filesystem::path& mountpoint, std::string_view fstype) {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) return Status::IOError("cannot read /proc/self/mountinfo");
  std::optional<MountInfoEntry> found;  // the last match: later mounts stack on earlier ones
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::vector<std::string> parts;
    for (std::string part; fields >> part;) parts.push_back(part);
    const auto dash = std::find(parts.begin(), parts.end(), "-");
    if (parts.size() < 5 || dash == parts.end() || parts.end() - dash < 3) continue;
    if (*(dash + 1) != fstype) continue;
    const std::filesystem::path where(UnescapeMountInfoField(parts[4]));
    if (where != mountpoint) continue;
    found = MountInfoEntry{parts[2], where, *(dash + 1), UnescapeMountInfoField(*(dash + 2))};
  }
  if (!found)
    return Status::NotFound("no " + std::string(fstype) + " mount on " + mountpoint.string());
  return *found;
}

}  // namespace re2po::fs
