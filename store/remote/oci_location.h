// Where a remote lives in an OCI registry: "oci://HOST[:PORT]/REPOSITORY".
// HTTPS, except for loopback hosts (127.0.0.1, localhost, [::1]), which are
// plain HTTP as container tools treat them; "oci+http://" asks for plain
// HTTP anywhere (a registry inside a cluster network). A query
// "?mount-from=REPO[,REPO]" names repositories of the same registry whose
// blobs a push may mount instead of uploading (a backbone already pushed
// beside it).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "store/base/status.h"

namespace re2po {

struct OciLocation {
  std::string scheme;      // "https" or "http"
  std::string host;        // "registry.example:5000"
  std::string repository;  // "models/resnet-pets"
  std::vector<std::string> mount_from;

  std::string BaseUrl() const { return scheme + "://" + host; }
  // "oci://host/repository": for messages, logs and the cache's name.
  std::string ToString() const { return "oci://" + host + "/" + repository; }
};

bool IsOciUrl(std::string_view url);
Result<OciLocation> ParseOciUrl(std::string_view url);

// Lower-case path components of [a-z0-9] joined by '.', '_', '__' or
// runs of '-', separated by '/' (the distribution spec's grammar).
bool ValidOciRepository(std::string_view repository);

}  // namespace re2po
