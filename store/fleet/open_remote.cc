#include "store/fleet/open_remote.h"

#include <algorithm>

#include "store/fleet/node_store.h"
#include "store/fleet/remote_keys.h"
#include "store/remote/aws_credentials.h"
#include "store/remote/oci_store.h"
#include "store/remote/s3_store.h"

namespace re2po {
namespace {

constexpr std::string_view kS3Scheme = "s3://";

bool ValidBucket(std::string_view bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) return false;
  return std::all_of(bucket.begin(), bucket.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
}

// "s3://BUCKET[/PREFIX]" with a prefix of plain path segments.
Result<std::pair<std::string, std::string>> ParseS3Url(std::string_view url) {
  std::string_view rest = url.substr(kS3Scheme.size());
  const size_t slash = rest.find('/');
  const std::string_view bucket = rest.substr(0, slash);
  std::string prefix(slash == std::string_view::npos ? "" : rest.substr(slash + 1));
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (!ValidBucket(bucket)) {
    return Status::InvalidArgument("'" + std::string(url) +
                                   "': a bucket name is 3 to 63 of a-z, 0-9, '-' and '.'");
  }
  if (prefix.starts_with('/') || prefix.find("//") != std::string::npos || prefix == ".." ||
      prefix.starts_with("../") || prefix.find("/../") != std::string::npos ||
      prefix.ends_with("/..")) {
    return Status::InvalidArgument("'" + std::string(url) + "': a malformed prefix");
  }
  return std::make_pair(std::string(bucket), prefix);
}

// The catalog head is the one named object users look for in a registry.
Result<std::unique_ptr<ObjectStore>> OpenRegistry(const RemoteSpec& spec) {
  ASSIGN_OR_RETURN(OciLocation location, ParseOciUrl(spec.url));
  OciOptions options;
  options.call_deadline = spec.deadline;
  options.user_agent = spec.user_agent;
  options.tag_aliases = {{std::string(remote_keys::kHead), "catalog"}};
  ASSIGN_OR_RETURN(std::unique_ptr<OciStore> store, OpenOciStore(location, std::move(options)));
  return std::unique_ptr<ObjectStore>(std::move(store));
}

}  // namespace

Result<std::unique_ptr<ObjectStore>> OpenRemote(const RemoteSpec& spec) {
  if (IsOciUrl(spec.url)) return OpenRegistry(spec);
  if (!spec.url.starts_with(kS3Scheme)) {
    return Status::InvalidArgument("'" + spec.url +
                                   "' is not a remote this re2po knows (s3://BUCKET/PREFIX or "
                                   "oci://HOST/REPOSITORY)");
  }
  ASSIGN_OR_RETURN(auto bucket_and_prefix, ParseS3Url(spec.url));
  AwsSettingsOptions settings_options;
  settings_options.endpoint = spec.endpoint;
  ASSIGN_OR_RETURN(AwsSettings settings, LoadAwsSettings(settings_options));
  S3Options options;
  options.bucket = bucket_and_prefix.first;
  options.prefix = bucket_and_prefix.second;
  options.call_deadline = spec.deadline;
  options.user_agent = spec.user_agent;
  ASSIGN_OR_RETURN(std::unique_ptr<S3Store> store, OpenS3Store(options, settings));
  if (spec.create_container) RETURN_IF_ERROR(store->EnsureBucket());
  return std::unique_ptr<ObjectStore>(std::move(store));
}

std::filesystem::path DefaultCacheDir(const std::string& url) {
  std::string name;
  for (char c : url) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '.' || c == '_';
    if (plain) {
      name += c;
    } else if (!name.empty() && name.back() != '_') {
      name += '_';
    }
  }
  while (!name.empty() && name.back() == '_') name.pop_back();
  return std::filesystem::path("/var/cache/re2po") / name;
}

Result<std::unique_ptr<Store>> OpenNode(const NodeSpec& spec) {
  NodeOptions options;
  ASSIGN_OR_RETURN(options.remote, OpenRemote(spec.remote));
  options.cache_dir = spec.cache_dir.empty() ? DefaultCacheDir(spec.remote.url) : spec.cache_dir;
  options.cache_max_bytes = spec.cache_max_bytes;
  options.memory_cache_bytes = spec.memory_cache_bytes;
  options.keyring = spec.keyring;
  if (!spec.trust.empty()) {
    ASSIGN_OR_RETURN(PublicKey trust, PublicKey::Load(spec.trust));
    options.trust = std::move(trust);
  }
  return OpenNodeStore(std::move(options));
}

}  // namespace re2po
