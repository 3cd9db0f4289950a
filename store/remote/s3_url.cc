#include "store/remote/s3_url.h"

#include <algorithm>

namespace re2po {
namespace {

bool IsDefaultPort(std::string_view scheme, std::string_view port) {
  return (scheme == "http" && port == "80") || (scheme == "https" && port == "443");
}

bool AllDigits(std::string_view text) {
  if (text.empty() || text.size() > 5) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Splits "host", "host:port", "[v6]" or "[v6]:port".
Status SplitAuthority(std::string_view authority, S3Endpoint& endpoint) {
  size_t host_end = authority.size();
  if (authority.starts_with("[")) {
    host_end = authority.find(']');
    if (host_end == std::string_view::npos) return Status::InvalidArgument("unclosed '['");
    ++host_end;
  } else {
    host_end = std::min(authority.find(':'), authority.size());
  }
  endpoint.host = authority.substr(0, host_end);
  if (endpoint.host.empty()) return Status::InvalidArgument("no host");
  const std::string_view rest = authority.substr(host_end);
  if (rest.empty()) return Status::Ok();
  if (rest[0] != ':' || !AllDigits(rest.substr(1))) {
    return Status::InvalidArgument("bad port '" + std::string(rest) + "'");
  }
  endpoint.port = rest.substr(1);
  if (IsDefaultPort(endpoint.scheme, endpoint.port)) endpoint.port.clear();
  return Status::Ok();
}

std::string JoinHostPort(std::string_view host, std::string_view port) {
  return port.empty() ? std::string(host) : std::string(host) + ":" + std::string(port);
}

}  // namespace

std::string S3Endpoint::ToString() const {
  return scheme + "://" + JoinHostPort(host, port) + base_path;
}

Result<S3Endpoint> ParseS3Endpoint(std::string_view url) {
  const auto fail = [url](std::string_view why) {
    return Status::InvalidArgument("S3 endpoint '" + std::string(url) +
                                   "' is not http(s)://host[:port][/path]: " + std::string(why));
  };
  S3Endpoint endpoint;
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return fail("no scheme");
  endpoint.scheme = url.substr(0, scheme_end);
  if (endpoint.scheme != "http" && endpoint.scheme != "https") return fail("unknown scheme");
  std::string_view rest = url.substr(scheme_end + 3);
  if (rest.find_first_of("?#@ ") != std::string_view::npos) {
    return fail("query, fragment, user info or space");
  }
  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  Status split = SplitAuthority(authority, endpoint);
  if (!split.ok()) return fail(split.message());
  if (slash != std::string_view::npos) {
    std::string_view path = rest.substr(slash);
    while (path.ends_with("/")) path.remove_suffix(1);
    endpoint.base_path = path;
  }
  return endpoint;
}

S3Target MakeS3Target(const S3Endpoint& endpoint, std::string_view bucket, std::string_view key,
                      bool path_style) {
  S3Target target;
  std::string path = endpoint.base_path;
  if (path_style) {
    target.host = JoinHostPort(endpoint.host, endpoint.port);
    path += "/" + std::string(bucket);
    if (!key.empty()) path += "/" + std::string(key);
  } else {
    target.host = JoinHostPort(std::string(bucket) + "." + endpoint.host, endpoint.port);
    path += "/" + std::string(key);
  }
  target.path = std::move(path);
  return target;
}

std::string S3Url(const S3Endpoint& endpoint, const S3Target& target, std::string_view encoded_path,
                  std::string_view encoded_query) {
  std::string url = endpoint.scheme + "://" + target.host + std::string(encoded_path);
  if (!encoded_query.empty()) url += "?" + std::string(encoded_query);
  return url;
}

}  // namespace re2po
