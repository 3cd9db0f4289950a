#include "tools/re2po/remotes.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace re2po::cli {
namespace stdfs = std::filesystem;
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

constexpr const char* kSystemRemotesFile = "/etc/re2po/remotes.json";

Result<RemoteConfigs> ReadFile(const stdfs::path& path) {
  RemoteConfigs remotes;
  std::ifstream in(path);
  if (!in) return remotes;
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("remotes") || !json["remotes"].is_object()) {
    return Status::InvalidArgument(path.string() + " is not a remotes file ({\"remotes\": {...}})");
  }
  for (const auto& [name, entry] : json["remotes"].items()) {
    if (!entry.is_object() || !entry.contains("url") || !entry["url"].is_string()) {
      return Status::InvalidArgument(path.string() + ": remote '" + name + "' has no url");
    }
    RemoteConfig config;
    config.url = entry["url"];
    config.endpoint = entry.value("endpoint", "");
    config.key = entry.value("key", "");
    config.trust = entry.value("trust", "");
    config.cache_dir = entry.value("cache_dir", "");
    remotes[name] = config;
  }
  return remotes;
}

}  // namespace

stdfs::path UserRemotesFile() {
  if (!Env("RE2PO_REMOTES").empty()) return Env("RE2PO_REMOTES");
  const std::string config = Env("XDG_CONFIG_HOME");
  const stdfs::path base =
      config.empty() ? stdfs::path(Env("HOME")) / ".config" : stdfs::path(config);
  return base / "re2po" / "remotes.json";
}

Result<RemoteConfigs> LoadRemotes() {
  ASSIGN_OR_RETURN(RemoteConfigs remotes, ReadFile(UserRemotesFile()));
  if (Env("RE2PO_REMOTES").empty()) {
    ASSIGN_OR_RETURN(RemoteConfigs system, ReadFile(kSystemRemotesFile));
    remotes.merge(system);  // the user's names win
  }
  return remotes;
}

Result<RemoteConfigs> LoadUserRemotes() { return ReadFile(UserRemotesFile()); }

Status SaveRemotes(const RemoteConfigs& remotes) {
  nlohmann::json entries = nlohmann::json::object();
  for (const auto& [name, config] : remotes) {
    nlohmann::json entry = {{"url", config.url}};
    if (!config.endpoint.empty()) entry["endpoint"] = config.endpoint;
    if (!config.key.empty()) entry["key"] = config.key;
    if (!config.trust.empty()) entry["trust"] = config.trust;
    if (!config.cache_dir.empty()) entry["cache_dir"] = config.cache_dir;
    entries[name] = entry;
  }
  const stdfs::path path = UserRemotesFile();
  std::error_code error;
  stdfs::create_directories(path.parent_path(), error);
  const stdfs::path temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << nlohmann::json({{"remotes", entries}}).dump(2) << "\n";
    if (!out) return Status::FromErrno(errno, "writing " + temporary.string());
  }
  stdfs::rename(temporary, path, error);
  if (error) return Status::FromErrno(error.value(), "replacing " + path.string());
  return Status::Ok();
}

Result<RemoteConfig> ResolveRemote(const std::string& name_or_url) {
  if (name_or_url.find("://") != std::string::npos)
    return RemoteConfig{name_or_url, "", "", "", ""};
  ASSIGN_OR_RETURN(RemoteConfigs remotes, LoadRemotes());
  auto it = remotes.find(name_or_url);
  if (it == remotes.end()) {
    return Status::NotFound("no remote named '" + name_or_url +
                            "' (re2po remote add NAME URL, or give a URL such as "
                            "s3://BUCKET/PREFIX or oci://HOST/REPO)");
  }
  return it->second;
}

}  // namespace re2po::cli
