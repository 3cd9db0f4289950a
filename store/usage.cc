#include "store/usage.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <system_error>

#include "store/base/log.h"

namespace re2po {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr int kUsageFormat = 1;

json ToJson(const std::string& mount_id, const UsageMap& usage) {
  json versions = json::array();
  for (const auto& [key, value] : usage) {
    versions.push_back({{"model", key.first},
                        {"version", key.second},
                        {"opens", value.opens},
                        {"last_access_ns", value.last_access_ns}});
  }
  return {{"format", kUsageFormat}, {"mount_id", mount_id}, {"versions", std::move(versions)}};
}

// Writes `text` to `path` and fsyncs it, so the rename that follows publishes
// complete bytes.
Status WriteSynced(const fs::path& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, "creating " + path.string());
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status status = Status::FromErrno(errno, "writing " + path.string());
      ::close(fd);
      return status;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status status = Status::FromErrno(errno, "syncing " + path.string());
    ::close(fd);
    return status;
  }
  ::close(fd);
  return Status::Ok();
}

Result<UsageMap> ParseFile(const fs::path& path) {
  std::ifstream in(path);
  json doc = json::parse(in, nullptr, /*allow_exceptions=*/false);
  const Status bad = Status::Corruption("usage file " + path.string() + " is malformed");
  if (doc.is_discarded() || !doc.is_object()) return bad;
  UsageMap usage;
  try {
    for (const json& item : doc.at("versions")) {
      VersionUsage& one =
          usage[{item.at("model").get<std::string>(), item.at("version").get<uint64_t>()}];
      one.opens += item.at("opens").get<uint64_t>();
      one.last_access_ns = std::max(one.last_access_ns, item.at("last_access_ns").get<int64_t>());
    }
  } catch (const json::exception&) {
    return bad;
  }
  return usage;
}

void Merge(const UsageMap& one, UsageMap& total) {
  for (const auto& [key, value] : one) {
    VersionUsage& sum = total[key];
    sum.opens += value.opens;
    sum.last_access_ns = std::max(sum.last_access_ns, value.last_access_ns);
  }
}

}  // namespace

fs::path UsageDir(const fs::path& store_dir) { return store_dir / "usage"; }

Status WriteUsage(const fs::path& store_dir, const std::string& mount_id, const UsageMap& usage) {
  if (mount_id.empty() || mount_id.find('/') != std::string::npos || mount_id[0] == '.') {
    return Status::InvalidArgument("bad usage mount id '" + mount_id + "'");
  }
  const fs::path dir = UsageDir(store_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::FromErrno(ec.value(), "creating " + dir.string());
  const fs::path final_path = dir / (mount_id + ".json");
  const fs::path tmp_path = dir / ("." + mount_id + ".json.tmp");
  RETURN_IF_ERROR(WriteSynced(tmp_path, ToJson(mount_id, usage).dump(1)));
  if (::rename(tmp_path.c_str(), final_path.c_str()) != 0) {
    Status status = Status::FromErrno(errno, "renaming " + tmp_path.string());
    ::unlink(tmp_path.c_str());
    return status;
  }
  return Status::Ok();
}

Result<UsageMap> ReadUsage(const fs::path& store_dir) {
  UsageMap total;
  const fs::path dir = UsageDir(store_dir);
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec == std::errc::no_such_file_or_directory) return total;
  if (ec) return Status::FromErrno(ec.value(), "listing " + dir.string());
  for (const fs::directory_entry& entry : it) {
    const fs::path& path = entry.path();
    if (path.extension() != ".json" || path.filename().string().starts_with(".")) continue;
    Result<UsageMap> one = ParseFile(path);
    if (!one.ok()) {
      Logger("store")->warn("skipping usage: {}", one.status().ToString());
      continue;
    }
    Merge(*one, total);
  }
  return total;
}

}  // namespace re2po
