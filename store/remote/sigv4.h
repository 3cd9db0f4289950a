// AWS Signature Version 4 for S3 requests, over OpenSSL's SHA-256 and
// HMAC-SHA256. Written out rather than taken from libcurl's CURLOPT_AWS_SIGV4,
// which mis-signs some query strings. The published S3 examples are the tests
// (tests/store/remote/sigv4_test.cc).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace re2po {

// An access key pair; empty access_key_id means anonymous (unsigned) requests.
struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // temporary credentials only

  bool anonymous() const { return access_key_id.empty(); }
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;
using QueryParams = std::vector<std::pair<std::string, std::string>>;

// What a signature covers. Paths and query parameters are given decoded;
// the signer encodes them, and the caller sends the same encodings
// (SigV4Signed::encoded_path, EncodeQuery).
struct SigV4Request {
  std::string_view method;  // "GET", "PUT"...
  std::string_view host;    // the Host header as sent: "host" or "host:port"
  std::string_view path;    // "/bucket/key", not encoded
  QueryParams query;        // not encoded; a key without a value has ""
  // Headers signed beside host, x-amz-content-sha256 and x-amz-date (and
  // x-amz-security-token with a session token), e.g. {"Range", "bytes=0-9"}.
  HeaderList extra_headers;
  std::string_view payload_sha256;  // lowercase hex; Sha256Hex("") for no body
};

struct SigV4Signed {
  // To send with the request: x-amz-date, x-amz-content-sha256,
  // x-amz-security-token when set, and Authorization.
  HeaderList headers;
  std::string encoded_path;
  std::string canonical_request;  // for tests and debugging; holds no secret
  std::string string_to_sign;
  std::string signature;  // lowercase hex
};

// amz_date is "YYYYMMDDTHHMMSSZ" (AmzDate); region e.g. "us-east-1".
SigV4Signed SignV4(const SigV4Request& request, const AwsCredentials& credentials,
                   std::string_view region, std::string_view amz_date);

// Percent-encodes every byte but A-Za-z0-9-._~ as %XX (uppercase hex);
// keeps '/' when keep_slash (an S3 path is encoded segment by segment).
std::string UriEncode(std::string_view text, bool keep_slash);
// "a=1&b=2": keys and values encoded, sorted by encoded key then value.
std::string EncodeQuery(const QueryParams& query);
std::string Sha256Hex(std::string_view bytes);
// The x-amz-date form of `when`, in UTC.
std::string AmzDate(std::chrono::system_clock::time_point when);

}  // namespace re2po
