// ParseMountOptions and ParseSize (fs/core/mount_options.h).
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <limits>

#include "fs/core/mount_options.h"

namespace re2po::fs {
namespace {

// Generic options mount(8), /etc/fstab and systemd pass to every helper; they
// mean nothing to a read-only FUSE filesystem.
constexpr std::array<std::string_view, 30> kDroppedOptions = {
    "rw",         "defaults", "auto",       "noauto",      "user",          "users",
    "nouser",     "owner",    "group",      "_netdev",     "nofail",        "exec",
    "noexec",     "suid",     "nosuid",     "dev",         "nodev",         "atime",
    "noatime",    "relatime", "norelatime", "strictatime", "nostrictatime", "diratime",
    "nodiratime", "sync",     "async",      "dirsync",     "lazytime",      "nolazytime"};
constexpr std::array<std::string_view, 4> kDroppedPrefixes = {"x-",
                                                              "comment=", "context=", "helper="};
// libfuse options passed through unchanged.
constexpr std::array<std::string_view, 3> kFuseFlags = {"allow_root", "auto_unmount", "debug"};
constexpr std::array<std::string_view, 2> kFusePrefixes = {"fsname=", "subtype="};

bool StartsWithAny(std::string_view option, auto prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](std::string_view prefix) { return option.starts_with(prefix); });
}
bool IsAny(std::string_view option, auto names) {
  return std::find(names.begin(), names.end(), option) != names.end();
}

// Splits on commas not escaped by a backslash.
std::vector<std::string> SplitOptions(std::string_view text) {
  std::vector<std::string> options(1);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      options.back() += text[++i];
    } else if (text[i] == ',') {
      options.emplace_back();
    } else {
      options.back() += text[i];
    }
  }
  std::erase_if(options, [](const std::string& option) { return option.empty(); });
  return options;
}

bool ValidLogLevel(std::string_view level) {
  constexpr std::array<std::string_view, 9> kLevels = {
      "trace", "debug", "info", "warn", "warning", "error", "err", "critical", "off"};
  return IsAny(level, kLevels);
}

constexpr std::array<std::string_view, 7> kRemoteOptions = {
    "endpoint", "cache_dir", "cache_size_max", "trust", "timeout", "prefetch", "user_agent"};
bool IsRemoteOption(std::string_view key) { return IsAny(key, kRemoteOptions); }

Result<std::chrono::seconds> ParseSeconds(const std::string& value) {
  uint64_t seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || end != value.data() + value.size() || seconds == 0 || seconds > 86400) {
    return Status::InvalidArgument("bad timeout '" + value + "' (whole seconds, 1 to 86400)");
  }
  return std::chrono::seconds(seconds);
}

Status ApplyRemote(std::string_view key, const std::string& value, RemoteMountOptions& remote) {
  if (value.empty()) return Status::InvalidArgument("needs a value");
  if (key == "endpoint") {
    remote.endpoint = value;
  } else if (key == "cache_dir") {
    remote.cache_dir = value;
  } else if (key == "cache_size_max") {
    ASSIGN_OR_RETURN(uint64_t bound, ParseSize(value));
    remote.cache_max_bytes = bound;
  } else if (key == "trust") {
    remote.trust = value;
  } else if (key == "timeout") {
    ASSIGN_OR_RETURN(remote.timeout, ParseSeconds(value));
  } else if (key == "user_agent") {
    remote.user_agent = value;
  } else {
    size_t start = 0;
    for (size_t colon = value.find(':'); start <= value.size(); colon = value.find(':', start)) {
      const std::string model = value.substr(start, colon - start);
      if (!model.empty()) remote.prefetch.push_back(model);
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  return Status::Ok();
}

Status Apply(const std::string& option, MountOptions& options) {
  const size_t eq = option.find('=');
  const std::string_view key = std::string_view(option).substr(0, eq);
  const std::string value = eq == std::string::npos ? "" : option.substr(eq + 1);
  if (option == "ro" || IsAny(option, kDroppedOptions) || StartsWithAny(option, kDroppedPrefixes)) {
    return Status::Ok();  // always read-only; the rest means nothing here
  }
  if (key == "cache_size") {
    ASSIGN_OR_RETURN(options.cache_bytes, ParseSize(value));
  } else if (key == "whole_file_readahead") {
    ASSIGN_OR_RETURN(options.whole_file_readahead, ParseSize(value));
  } else if (key == "kernel_readahead") {
    ASSIGN_OR_RETURN(options.kernel_readahead, ParseSize(value));
  } else if (option == "allow_other") {
    options.allow_other = true;
  } else if (key == "log_level") {
    if (!ValidLogLevel(value)) return Status::InvalidArgument("unknown log level");
    options.log_level = value;
  } else if (key == "log_file" && !value.empty()) {
    options.log_file = value;
  } else if (key == "access_log" && !value.empty()) {
    options.access_log = value != "off";
    options.access_log_path.clear();
    if (options.access_log) {
      std::error_code ec;
      options.access_log_path = std::filesystem::absolute(value, ec);
      if (ec) return Status::InvalidArgument("bad path: " + ec.message());
    }
  } else if (key == "keyring" && !value.empty()) {
    std::error_code ec;
    options.keyring = std::filesystem::absolute(value, ec);
    if (ec) return Status::InvalidArgument("bad path: " + ec.message());
  } else if (key == "metrics" && !value.empty()) {
    if (value == "off") {
      options.metrics.reset();
    } else {
      ASSIGN_OR_RETURN(options.metrics, ParseListenAddress(value));
    }
  } else if (IsRemoteOption(key)) {
    return ApplyRemote(key, value, options.remote);
  } else if (IsAny(option, kFuseFlags) || StartsWithAny(option, kFusePrefixes)) {
    options.fuse_options.push_back(option);
  } else {
    return Status::InvalidArgument("unknown mount option");
  }
  return Status::Ok();
}

}  // namespace

Result<size_t> ParseSize(std::string_view text) {
  const Status bad = Status::InvalidArgument("bad size '" + std::string(text) +
                                             "' (expected e.g. 268435456, 512M, 1G)");
  uint64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc() || end == text.data()) return bad;
  std::string suffix(end, text.data() + text.size());
  for (char& c : suffix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (suffix.ends_with("IB"))
    suffix.resize(suffix.size() - 2);
  else if (suffix.size() > 1 && suffix.ends_with("B"))
    suffix.resize(suffix.size() - 1);
  int shift = 0;
  if (suffix.empty() || suffix == "B")
    shift = 0;
  else if (suffix == "K")
    shift = 10;
  else if (suffix == "M")
    shift = 20;
  else if (suffix == "G")
    shift = 30;
  else if (suffix == "T")
    shift = 40;
  else
    return bad;
  if (number > (std::numeric_limits<size_t>::max() >> shift)) return bad;
  return static_cast<size_t>(number << shift);
}

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  ListenAddress address;
  if (text.starts_with("unix:")) text.remove_prefix(5);
  if (text.starts_with('/') || text.starts_with('.')) {
    std::error_code ec;
    address.socket_path = std::filesystem::absolute(text, ec).lexically_normal();
    if (ec || !address.socket_path.has_filename()) {
      return Status::InvalidArgument("bad socket path '" + std::string(text) + "'");
    }
    return address;
  }
  const Status bad = Status::InvalidArgument(
      "bad address '" + std::string(text) +
      "' (expected HOST:PORT such as 127.0.0.1:9317, or a unix socket path)");
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return bad;
  std::string_view host = text.substr(0, colon);
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  const std::string_view port = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), address.port);
  if (host.empty() || ec != std::errc() || end != port.data() + port.size() || address.port < 0 ||
      address.port > 65535) {
    return bad;
  }
  address.host = host;
  return address;
}

std::string ListenAddress::ToString() const {
  if (is_unix()) return socket_path.string();
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool IsRemoteSource(std::string_view source) {
  const size_t scheme = source.find("://");
  if (scheme == std::string_view::npos || scheme == 0 || !std::islower(source[0])) return false;
  return std::all_of(source.begin(), source.begin() + static_cast<ptrdiff_t>(scheme), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c)) || c == '+';
  });
}

Result<MountOptions> ParseMountOptions(std::string_view comma_separated, MountOptions base) {
  for (const std::string& option : SplitOptions(comma_separated)) {
    RETURN_IF_ERROR(Apply(option, base).WithContext("mount option '" + option + "'"));
  }
  return base;
}

}  // namespace re2po::fs
