#include "store/base/build_info.h"

#include <pwd.h>
#include <unistd.h>

#include <array>

namespace re2po {

std::string ToolVersion() { return std::string("re2po ") + RE2PO_PROJECT_VERSION; }

std::string CurrentUserName() {
  const uid_t uid = ::geteuid();
  std::array<char, 4096> buffer{};
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return std::to_string(uid);
}

std::string CurrentHostName() {
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0) return "";
  return name.data();
}

}  // namespace re2po
