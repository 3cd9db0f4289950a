// Where an S3 request goes: the endpoint a user gave, and the host and path
// of a bucket or object under path-style ("host/bucket/key") or
// virtual-hosted ("bucket.host/key") addressing.
#pragma once

#include <string>
#include <string_view>

#include "store/base/status.h"

namespace re2po {

struct S3Endpoint {
  std::string scheme;     // "http" or "https"
  std::string host;       // "127.0.0.1", "[::1]", "s3.eu-west-1.amazonaws.com"
  std::string port;       // empty for the scheme's default port
  std::string base_path;  // "" or "/path" when the endpoint has one

  // "https://host[:port]/path": for messages.
  std::string ToString() const;
};

// "http(s)://host[:port][/path]"; no user info, query or fragment.
Result<S3Endpoint> ParseS3Endpoint(std::string_view url);

struct S3Target {
  std::string host;  // the Host header: host[:port]
  std::string path;  // decoded: "/bucket/key" or "/key"
};

// An empty key addresses the bucket itself.
S3Target MakeS3Target(const S3Endpoint& endpoint, std::string_view bucket, std::string_view key,
                      bool path_style);

// The URL to send: scheme://host + encoded_path [+ "?" + encoded_query].
std::string S3Url(const S3Endpoint& endpoint, const S3Target& target, std::string_view encoded_path,
                  std::string_view encoded_query);

}  // namespace re2po
