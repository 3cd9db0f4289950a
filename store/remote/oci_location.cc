#include "store/remote/oci_location.h"

namespace re2po {
namespace {

constexpr std::string_view kOciScheme = "oci://";
constexpr std::string_view kOciHttpScheme = "oci+http://";
constexpr std::string_view kMountFrom = "mount-from=";

bool LowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool ValidComponent(std::string_view component) {
  if (component.empty() || !LowerAlnum(component.front()) || !LowerAlnum(component.back())) {
    return false;
  }
  for (size_t i = 0; i < component.size(); ++i) {
    const char c = component[i];
    if (LowerAlnum(c) || c == '-') continue;
    if (c != '.' && c != '_') return false;
    // '.', '_' or "__" between alphanumerics only.
    const bool double_underscore = c == '_' && component[i + 1] == '_';
    const size_t next = i + (double_underscore ? 2 : 1);
    if (!LowerAlnum(component[i - 1]) || next >= component.size() || !LowerAlnum(component[next])) {
      return false;
    }
    i = next - 1;
  }
  return true;
}

bool ValidHost(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  for (char c : host) {
    const bool ok = LowerAlnum(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '-' || c == ':' ||
                    c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

bool IsLoopback(std::string_view host) {
  const std::string_view name =
      host.starts_with('[') ? host.substr(0, host.find(']') + 1) : host.substr(0, host.find(':'));
  return name == "127.0.0.1" || name == "localhost" || name == "[::1]";
}

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> items;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    if (comma != 0) items.emplace_back(text.substr(0, comma));
    text.remove_prefix(comma == std::string_view::npos ? text.size() : comma + 1);
  }
  return items;
}

Status Malformed(std::string_view url, std::string_view why) {
  return Status::InvalidArgument("'" + std::string(url) + "': " + std::string(why) +
                                 " (oci://HOST[:PORT]/REPOSITORY[?mount-from=REPO,...])");
}

}  // namespace

bool IsOciUrl(std::string_view url) {
  return url.starts_with(kOciScheme) || url.starts_with(kOciHttpScheme);
}

bool ValidOciRepository(std::string_view repository) {
  if (repository.empty() || repository.size() > 255) return false;
  while (true) {
    const size_t slash = repository.find('/');
    if (!ValidComponent(repository.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    repository.remove_prefix(slash + 1);
  }
}

Result<OciLocation> ParseOciUrl(std::string_view url) {
  if (!IsOciUrl(url)) return Malformed(url, "not an OCI registry URL");
  const bool plain_http = url.starts_with(kOciHttpScheme);
  std::string_view rest = url.substr(plain_http ? kOciHttpScheme.size() : kOciScheme.size());
  OciLocation location;
  const size_t question = rest.find('?');
  if (question != std::string_view::npos) {
    const std::string_view query = rest.substr(question + 1);
    if (!query.starts_with(kMountFrom)) return Malformed(url, "the only query is mount-from=");
    location.mount_from = SplitList(query.substr(kMountFrom.size()));
    rest = rest.substr(0, question);
  }
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return Malformed(url, "no repository");
  location.host = std::string(rest.substr(0, slash));
  location.repository = std::string(rest.substr(slash + 1));
  while (!location.repository.empty() && location.repository.back() == '/') {
    location.repository.pop_back();
  }
  if (!ValidHost(location.host)) return Malformed(url, "a malformed host");
  if (!ValidOciRepository(location.repository)) {
    return Malformed(url, "a repository is lower-case [a-z0-9] components joined by . _ __ or -");
  }
  for (const std::string& source : location.mount_from) {
    if (!ValidOciRepository(source)) return Malformed(url, "a malformed mount-from repository");
  }
  location.scheme = plain_http || IsLoopback(location.host) ? "http" : "https";
  return location;
}

}  // namespace re2po
