// One S3 call: signed requests to a bucket, retried while retrying can help
// (transport failures, 5xx, 429, SlowDown, RequestTimeout) with exponential
// backoff and full jitter, all within the call's deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/base/status.h"
#include "store/remote/http_client.h"
#include "store/remote/object_store.h"
#include "store/remote/retry.h"
#include "store/remote/s3_url.h"
#include "store/remote/sigv4.h"

namespace re2po {

struct S3Request {
  std::string method = "GET";
  std::string key;  // the full key in the bucket; empty addresses the bucket
  QueryParams query;
  HeaderList headers;     // beside the signature's, e.g. If-None-Match
  std::string_view body;  // must outlive the call
  std::optional<HttpByteRange> range;
  std::optional<uint64_t> max_body_bytes;
};

struct S3Connection {
  S3Endpoint endpoint;
  std::string bucket;
  bool path_style = true;
  AwsCredentials credentials;
  std::string region;
};

class S3Transport {
 public:
  S3Transport(S3Connection connection, HttpClientOptions http, RetryPolicy retry,
              ObjectStoreCounters& counters);

  // The first answer not worth retrying, whatever its status; kBusy when
  // the deadline passed or the attempts ran out first. `what` names the
  // call in messages: "fetching s3://bucket/key".
  Result<HttpResponse> Send(const S3Request& request, std::string_view what);

  const S3Connection& connection() const { return connection_; }

 private:
  HttpRequest Prepare(const S3Request& request, std::string_view payload_sha256) const;

  const S3Connection connection_;
  const RetryPolicy retry_;
  HttpClient http_;
  ObjectStoreCounters& counters_;
};

// The Status for an answer the call cannot use: 404 kNotFound, 401/403
// kPermissionDenied, other 4xx and 3xx kInvalidArgument, anything else
// kIOError; the message names `what` and the S3 error code.
Status S3ErrorStatus(const HttpResponse& response, std::string_view what);

}  // namespace re2po
