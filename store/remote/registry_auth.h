// Credentials for an OCI registry, found where container tools keep them
// (never on a command line): REGISTRY_AUTH_FILE, then
// $XDG_RUNTIME_DIR/containers/auth.json (podman, skopeo), then
// $DOCKER_CONFIG/config.json or ~/.docker/config.json. Each is a JSON
// document whose "auths" map a registry host to {"auth": base64(user:pass)}
// or {"username", "password"}. And the registry's answer to an
// unauthenticated request: the WWW-Authenticate challenge (Basic, or Bearer
// with the token service to ask).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/base/status.h"

namespace re2po {

struct RegistryCredentials {
  std::string username;
  std::string password;
  std::string source;  // the file they came from, for messages (never the secret)
};

// The files searched, first match wins, from the process environment.
std::vector<std::filesystem::path> RegistryAuthFiles();

// The credentials for `host` ("127.0.0.1:5000", "ghcr.io"), or nullopt when
// no file names it. A file that exists but cannot be read or parsed is an
// error: silently going anonymous would hide the mistake.
Result<std::optional<RegistryCredentials>> FindRegistryCredentials(
    std::string_view host, const std::vector<std::filesystem::path>& files);

struct AuthChallenge {
  std::string scheme;                         // "basic" or "bearer", lower case
  std::map<std::string, std::string> params;  // realm, service, scope, ...
};

// `Bearer realm="https://auth.example/token",service="registry",scope="..."`.
std::optional<AuthChallenge> ParseAuthChallenge(std::string_view header);

std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace re2po
