// One call to a remote service as a series of HTTP attempts: retried while
// retrying can help, with exponential backoff and full jitter, all within
// the call's deadline. The S3 and OCI transports share it; each says what
// is worth another attempt and how to build each attempt (a signature or a
// token may change between attempts).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "store/base/status.h"
#include "store/remote/http_client.h"
#include "store/remote/object_store.h"

namespace re2po {

struct RetryPolicy {
  std::chrono::milliseconds deadline{30'000};  // per call, every attempt and wait included
  int max_attempts = 6;
  std::chrono::milliseconds first_backoff{50};  // doubled per retry
  std::chrono::milliseconds max_backoff{2'000};
};

struct RetriedCall {
  std::string_view what;  // "fetching s3://bucket/key", for messages
  size_t body_bytes = 0;  // counted as sent per attempt
  // The next attempt's request; its timeout is set by the loop.
  std::function<Result<HttpRequest>()> prepare;
  // Why this outcome is worth another attempt, or nullopt when it is final.
  std::function<std::optional<std::string>(const Result<HttpResponse>&)> retry_reason;
};

// The first outcome not worth retrying, whatever its status; kBusy when the
// deadline passed or the attempts ran out first.
Result<HttpResponse> SendWithRetries(HttpClient& http, const RetryPolicy& retry,
                                     ObjectStoreCounters& counters, const RetriedCall& call);

// The Status for an answer a call cannot use, as every remote maps it: 404
// kNotFound (with `head`, the short message), 401/403 kPermissionDenied,
// other 4xx and 3xx kInvalidArgument, anything else kIOError (with
// `detail`, which may add the server's explanation).
Status HttpAnswerStatus(long http_status, std::string head, std::string detail);

// What HTTP services agree is worth retrying: a failure on the way
// (kIOError), 5xx and 429.
std::optional<std::string> CommonRetryReason(const Result<HttpResponse>& outcome);

}  // namespace re2po
