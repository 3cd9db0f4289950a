#include "store/remote/registry_auth.h"

#include <openssl/evp.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace re2po {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

// The "auths" keys a tool may have written for `host`.
std::vector<std::string> KeysFor(std::string_view host) {
  const std::string plain(host);
  return {plain, "https://" + plain, "http://" + plain, "https://" + plain + "/v1/",
          "https://" + plain + "/v2/"};
}

Result<std::optional<RegistryCredentials>> FromEntry(const nlohmann::json& entry,
                                                     const std::string& source) {
  RegistryCredentials credentials;
  credentials.source = source;
  if (entry.contains("auth") && entry["auth"].is_string()) {
    std::optional<std::string> decoded = Base64Decode(entry["auth"].get<std::string>());
    const size_t colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) {
      return Status::InvalidArgument(source + ": an \"auth\" entry is not base64 of user:password");
    }
    credentials.username = decoded->substr(0, colon);
    credentials.password = decoded->substr(colon + 1);
    return std::optional<RegistryCredentials>(std::move(credentials));
  }
  if (entry.contains("username") && entry.contains("password") && entry["username"].is_string() &&
      entry["password"].is_string()) {
    credentials.username = entry["username"].get<std::string>();
    credentials.password = entry["password"].get<std::string>();
    return std::optional<RegistryCredentials>(std::move(credentials));
  }
  return std::optional<RegistryCredentials>();
}

Result<std::optional<RegistryCredentials>> FindIn(std::string_view host,
                                                  const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return Status::IOError("cannot read registry credentials in " + file.string());
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json document = nlohmann::json::parse(text.str(), nullptr, false);
  if (document.is_discarded() || !document.is_object()) {
    return Status::InvalidArgument(file.string() + " is not a JSON object");
  }
  if (!document.contains("auths") || !document["auths"].is_object()) {
    return std::optional<RegistryCredentials>();
  }
  const nlohmann::json& auths = document["auths"];
  for (const std::string& key : KeysFor(host)) {
    if (auths.contains(key) && auths[key].is_object()) return FromEntry(auths[key], file.string());
  }
  return std::optional<RegistryCredentials>();
}

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

// One `name="value"` or `name=token` pair from the front of `text`.
bool TakeParam(std::string_view& text, std::string& name, std::string& value) {
  while (!text.empty() && (text.front() == ' ' || text.front() == ',')) text.remove_prefix(1);
  const size_t equals = text.find('=');
  if (text.empty() || equals == std::string_view::npos) return false;
  name = Lower(text.substr(0, equals));
  text.remove_prefix(equals + 1);
  value.clear();
  if (!text.empty() && text.front() == '"') {
    text.remove_prefix(1);
    while (!text.empty() && text.front() != '"') {
      if (text.front() == '\\' && text.size() > 1) text.remove_prefix(1);
      value += text.front();
      text.remove_prefix(1);
    }
    if (text.empty()) return false;  // unterminated
    text.remove_prefix(1);
  } else {
    const size_t end = text.find(',');
    value = std::string(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end);
  }
  return true;
}

}  // namespace

std::vector<std::filesystem::path> RegistryAuthFiles() {
  std::vector<std::filesystem::path> files;
  if (const std::string file = Env("REGISTRY_AUTH_FILE"); !file.empty()) files.emplace_back(file);
  if (const std::string runtime = Env("XDG_RUNTIME_DIR"); !runtime.empty()) {
    files.push_back(std::filesystem::path(runtime) / "containers" / "auth.json");
  }
  if (const std::string docker = Env("DOCKER_CONFIG"); !docker.empty()) {
    files.push_back(std::filesystem::path(docker) / "config.json");
  } else if (const std::string home = Env("HOME"); !home.empty()) {
    files.push_back(std::filesystem::path(home) / ".docker" / "config.json");
  }
  return files;
}

Result<std::optional<RegistryCredentials>> FindRegistryCredentials(
    std::string_view host, const std::vector<std::filesystem::path>& files) {
  for (const std::filesystem::path& file : files) {
    std::error_code error;
    if (!std::filesystem::exists(file, error)) continue;
    ASSIGN_OR_RETURN(std::optional<RegistryCredentials> found, FindIn(host, file));
    if (found) return found;
  }
  return std::optional<RegistryCredentials>();
}

std::optional<AuthChallenge> ParseAuthChallenge(std::string_view header) {
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  const size_t space = header.find(' ');
  AuthChallenge challenge;
  challenge.scheme = Lower(header.substr(0, space));
  if (challenge.scheme != "basic" && challenge.scheme != "bearer") return std::nullopt;
  std::string_view rest = space == std::string_view::npos ? "" : header.substr(space + 1);
  std::string name, value;
  while (TakeParam(rest, name, value)) challenge.params[name] = value;
  return challenge;
}

std::string Base64Encode(std::string_view bytes) {
  std::string text(4 * ((bytes.size() + 2) / 3), '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()),
                                      reinterpret_cast<const unsigned char*>(bytes.data()),
                                      static_cast<int>(bytes.size()));
  text.resize(written < 0 ? 0 : static_cast<size_t>(written));
  return text;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  if (text.size() % 4 != 0) return std::nullopt;
  std::string bytes(3 * (text.size() / 4), '\0');
  const int written = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(bytes.data()),
                                      reinterpret_cast<const unsigned char*>(text.data()),
                                      static_cast<int>(text.size()));
  if (written < 0) return std::nullopt;
  size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  bytes.resize(static_cast<size_t>(written) - padding);
  return bytes;
}

}  // namespace re2po
