#include "store/remote/retry.h"

#include <algorithm>
#include <random>
#include <thread>

#include "store/base/log.h"

namespace re2po {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

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

Status HttpAnswerStatus(long http_status, std::string head, std::string detail) {
  if (http_status == 404) return Status::NotFound(std::move(head));
  if (http_status == 401 || http_status == 403) return Status::PermissionDenied(std::move(detail));
  if (http_status >= 300 && http_status < 500) return Status::InvalidArgument(std::move(detail));
  return Status::IOError(std::move(detail));
}

std::optional<std::string> CommonRetryReason(const Result<HttpResponse>& outcome) {
  if (!outcome.ok()) {
    if (outcome.status().code() != StatusCode::kIOError) return std::nullopt;
    return outcome.status().message();
  }
  if (outcome->status >= 500 || outcome->status == 429) return std::to_string(outcome->status);
  return std::nullopt;
}

Result<HttpResponse> SendWithRetries(HttpClient& http, const RetryPolicy& retry,
                                     ObjectStoreCounters& counters, const RetriedCall& call) {
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + retry.deadline;
  std::string last_failure = "none";
  for (int attempt = 1;; ++attempt) {
    const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (remaining.count() <= 0)
      return OutOfTime(call.what, start, retry, attempt - 1, last_failure);
    ASSIGN_OR_RETURN(HttpRequest request, call.prepare());
    request.timeout = remaining;
    Result<HttpResponse> outcome = http.Perform(request);
    counters.requests.fetch_add(1, std::memory_order_relaxed);
    counters.bytes_sent.fetch_add(call.body_bytes, std::memory_order_relaxed);
    if (outcome.ok()) {
      counters.bytes_received.fetch_add(outcome->body.size(), std::memory_order_relaxed);
    }
    std::optional<std::string> reason = call.retry_reason(outcome);
    if (!reason) return outcome;
    last_failure = std::move(*reason);
    if (attempt >= retry.max_attempts)
      return OutOfAttempts(call.what, start, attempt, last_failure);
    const milliseconds wait = Backoff(retry, attempt);
    // Waiting past the deadline would only end in the same answer, later.
    if (Clock::now() + wait >= deadline) {
      return OutOfTime(call.what, start, retry, attempt, last_failure);
    }
    counters.retries.fetch_add(1, std::memory_order_relaxed);
    Logger("remote")->debug("retrying {} in {} ms (attempt {} of {}): {}", call.what, wait.count(),
                            attempt + 1, retry.max_attempts, last_failure);
    std::this_thread::sleep_for(wait);
  }
}

}  // namespace re2po
