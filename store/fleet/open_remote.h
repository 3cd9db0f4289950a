// From what a user types (a remote's URL, an endpoint, a key file) to an
// object store and a node store: the one place that knows which URL scheme
// is which engine.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "store/remote/object_store.h"
#include "store/store.h"

namespace re2po {

struct RemoteSpec {
  std::string url;       // s3://BUCKET[/PREFIX] or oci://HOST/REPOSITORY
  std::string endpoint;  // overrides AWS_ENDPOINT_URL; empty: the environment's or AWS's
  std::chrono::milliseconds deadline{30'000};  // per call, retries included
  std::string user_agent;                      // empty: re2po/<version>
  bool create_container = false;               // publishers: create the bucket if missing
};

// The object store behind `spec.url`, credentials from the environment the
// way AWS and container tools take them (never from the command line).
Result<std::unique_ptr<ObjectStore>> OpenRemote(const RemoteSpec& spec);

struct NodeSpec {
  RemoteSpec remote;
  std::filesystem::path cache_dir;          // empty: DefaultCacheDir(remote.url)
  std::optional<uint64_t> cache_max_bytes;  // none: the cache's recorded bound
  std::filesystem::path trust;              // a public key file; empty: nothing verified
  size_t memory_cache_bytes = size_t{256} << 20;
  std::shared_ptr<const Keyring> keyring;  // for protected models
};

// /var/cache/re2po/<bucket and prefix, made a file name>.
std::filesystem::path DefaultCacheDir(const std::string& url);

Result<std::unique_ptr<Store>> OpenNode(const NodeSpec& spec);

}  // namespace re2po
