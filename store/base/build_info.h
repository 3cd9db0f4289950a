// What this build of re2po calls itself, for provenance records and --version.
#pragma once

#include <string>

namespace re2po {

// "re2po 0.1.0": the project version from CMakeLists.txt.
std::string ToolVersion();

// The user running this process (their name, or their uid when /etc/passwd
// has none) and the machine's host name, for provenance records.
std::string CurrentUserName();
std::string CurrentHostName();

}  // namespace re2po
