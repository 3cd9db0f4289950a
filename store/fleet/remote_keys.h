// Names of the objects of a remote under its prefix (docs/format.md,
// "Remotes"). Everything but the head is immutable once written: packs and
// version objects are named by the SHA-256 of their bytes, log records by
// their time and a random suffix.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "store/base/digest.h"

namespace re2po::remote_keys {

// Written by the first push; its text names the layout version.
inline constexpr std::string_view kMarker = "re2po-remote";
inline constexpr std::string_view kMarkerText = "re2po remote 1\n";
inline constexpr std::string_view kPackPrefix = "packs/";
inline constexpr std::string_view kVersionPrefix = "versions/";
inline constexpr std::string_view kLogPrefix = "log/";
inline constexpr std::string_view kHead = "head";

std::string Pack(const Digest& pack);
std::string Version(const Digest& object);
// "log/<20-digit milliseconds>-<16 random hex digits>": sorts by time, and
// two publishers never pick the same name.
std::string NewLogRecord(int64_t time_ms);
bool IsLogRecord(std::string_view key);

}  // namespace re2po::remote_keys
