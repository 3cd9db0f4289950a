#include "store/remote/s3_transport.h"

#include <algorithm>
#include <random>
#include <thread>

#include "store/base/log.h"
#include "store/remote/s3_xml.h"

namespace re2po {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t kMaxErrorCode = 64;

milliseconds Since(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start);
}

// Full jitter: uniform in [0, cap], so retrying clients spread out instead
// of returning in lockstep.
milliseconds Backoff(const RetryPolicy& retry, int retries_so_far) {
  milliseconds cap = retry.first_backoff;
  for (int i = 1; i < retries_so_far && cap < retry.max_backoff; ++i) cap *= 2;
  cap = std::min(cap, retry.max_backoff);
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::uniform_int_distribution<int64_t> pick(0, std::max<int64_t>(cap.count(), 0));
  return milliseconds(pick(random));
}

std::string ErrorCodeOf(const HttpResponse& response) {
  std::string code = ParseS3Error(response.body).code;
  if (code.size() > kMaxErrorCode) code.resize(kMaxErrorCode);
  return code;
}

std::string StatusAndCode(const HttpResponse& response) {
  const std::string code = ErrorCodeOf(response);
  return std::to_string(response.status) + (code.empty() ? "" : " " + code);
}

// Why this outcome is worth another attempt, or nullopt when it is final.
std::optional<std::string> RetryReason(const Result<HttpResponse>& outcome) {
  if (!outcome.ok()) {
    if (outcome.status().code() != StatusCode::kIOError) return std::nullopt;
    return outcome.status().message();
  }
  const HttpResponse& response = *outcome;
  if (response.status >= 500 || response.status == 429) return StatusAndCode(response);
  if (response.status == 400) {
    const std::string code = ErrorCodeOf(response);
    if (code == "SlowDown" || code == "RequestTimeout") return StatusAndCode(response);
  }
  return std::nullopt;
}

Status OutOfTime(std::string_view what, Clock::time_point start, const RetryPolicy& retry,
                 int attempts, const std::string& last_failure) {
  return Status::Busy("timed out after " + std::to_string(Since(start).count()) + " ms (deadline " +
                      std::to_string(retry.deadline.count()) + " ms) " + std::string(what) + ", " +
                      std::to_string(attempts) + " attempts; last: " + last_failure);
}

Status OutOfAttempts(std::string_view what, Clock::time_point start, int attempts,
                     const std::string& last_failure) {
  return Status::Busy("gave up " + std::string(what) + " after " + std::to_string(attempts) +
                      " attempts in " + std::to_string(Since(start).count()) +
                      " ms; last: " + last_failure);
}

}  // namespace

S3Transport::S3Transport(S3Connection connection, HttpClientOptions http, RetryPolicy retry,
                         ObjectStoreCounters& counters)
    : connection_(std::move(connection)),
      retry_(retry),
      http_(std::move(http)),
      counters_(counters) {}

HttpRequest S3Transport::Prepare(const S3Request& request, std::string_view payload_sha256) const {
  const S3Target target =
      MakeS3Target(connection_.endpoint, connection_.bucket, request.key, connection_.path_style);
  HttpRequest http;
  http.method = request.method;
  http.body = request.body;
  http.range = request.range;
  http.max_body_bytes = request.max_body_bytes;
  // Sent as signed: curl would leave a default port out or in by its own rule.
  http.headers.emplace_back("Host", target.host);
  std::string encoded_path;
  if (connection_.credentials.anonymous()) {
    encoded_path = UriEncode(target.path, true);
  } else {
    const SigV4Request to_sign{request.method, target.host, target.path,
                               request.query,  {},          payload_sha256};
    SigV4Signed signed_request = SignV4(to_sign, connection_.credentials, connection_.region,
                                        AmzDate(std::chrono::system_clock::now()));
    encoded_path = std::move(signed_request.encoded_path);
    for (auto& header : signed_request.headers) http.headers.push_back(std::move(header));
  }
  http.headers.insert(http.headers.end(), request.headers.begin(), request.headers.end());
  http.url = S3Url(connection_.endpoint, target, encoded_path, EncodeQuery(request.query));
  return http;
}

Result<HttpResponse> S3Transport::Send(const S3Request& request, std::string_view what) {
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + retry_.deadline;
  const std::string payload_sha256 = Sha256Hex(request.body);
  std::string last_failure = "none";
  for (int attempt = 1;; ++attempt) {
    const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (remaining.count() <= 0) return OutOfTime(what, start, retry_, attempt - 1, last_failure);
    HttpRequest http = Prepare(request, payload_sha256);
    http.timeout = remaining;
    Result<HttpResponse> outcome = http_.Perform(http);
    counters_.requests.fetch_add(1, std::memory_order_relaxed);
    counters_.bytes_sent.fetch_add(request.body.size(), std::memory_order_relaxed);
    if (outcome.ok()) {
      counters_.bytes_received.fetch_add(outcome->body.size(), std::memory_order_relaxed);
    }
    std::optional<std::string> reason = RetryReason(outcome);
    if (!reason) return outcome;
    last_failure = std::move(*reason);
    if (attempt >= retry_.max_attempts) return OutOfAttempts(what, start, attempt, last_failure);
    const milliseconds wait = Backoff(retry_, attempt);
    // Waiting past the deadline would only end in the same answer, later.
    if (Clock::now() + wait >= deadline) {
      return OutOfTime(what, start, retry_, attempt, last_failure);
    }
    counters_.retries.fetch_add(1, std::memory_order_relaxed);
    Logger("remote")->debug("retrying {} in {} ms (attempt {} of {}): {}", what, wait.count(),
                            attempt + 1, retry_.max_attempts, last_failure);
    std::this_thread::sleep_for(wait);
  }
}

Status S3ErrorStatus(const HttpResponse& response, std::string_view what) {
  const S3ErrorBody error = ParseS3Error(response.body);
  const std::string head = std::string(what) + ": " + StatusAndCode(response);
  const std::string detail = error.message.empty() ? head : head + " (" + error.message + ")";
  const long status = response.status;
  if (status == 404) return Status::NotFound(head);
  if (status == 401 || status == 403) return Status::PermissionDenied(detail);
  if (status >= 300 && status < 500) return Status::InvalidArgument(detail);
  return Status::IOError(detail);
}

}  // namespace re2po
