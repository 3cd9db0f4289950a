// A small HTTP client over libcurl for the object stores: one request per
// call, on easy handles kept in a pool so connections stay alive between
// requests. Any number of threads may call Perform at once; each request
// takes a handle of its own (a new one when none is idle).
// No retries here: callers decide what is worth another attempt.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/base/status.h"

namespace re2po {

struct HttpClientOptions {
  std::string user_agent = "re2po";  // fleet tests tell nodes apart by it
  std::chrono::milliseconds connect_timeout{5'000};
  // An attempt whose transfer stays below low_speed_bytes_per_second for
  // low_speed_time is abandoned (a stalled connection, not a slow one).
  uint32_t low_speed_bytes_per_second = 1024;
  std::chrono::seconds low_speed_time{15};
  bool follow_redirects = false;
  size_t max_idle_handles = 64;  // idle connections kept beyond this are closed
};

struct HttpByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;  // > 0
};

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, PUT, POST, PATCH, DELETE
  std::string url;             // already encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;  // must outlive the call
  std::optional<HttpByteRange> range;
  // The whole attempt, connect to last byte; zero means no limit.
  std::chrono::milliseconds timeout{0};
  // Stop reading a success's body past this many bytes
  // (response.body_truncated): a server that ignores Range must not make us
  // buffer a huge object. Error bodies are always cut at 64 KiB.
  std::optional<uint64_t> max_body_bytes;
};

struct HttpResponse {
  long status = 0;
  std::string etag;
  std::optional<uint64_t> content_length;
  std::string content_range;
  std::string location;
  // What registries add (OCI distribution): the auth challenge, a
  // manifest's or blob's digest, the next page of a listing.
  std::string www_authenticate;
  std::string docker_content_digest;
  std::string link;
  std::string body;
  bool body_truncated = false;  // max_body_bytes reached; the rest was not read
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Any answer the server gave, whatever its status. Errors: kIOError when
  // the attempt failed on the way (refused, reset, timed out: worth
  // retrying), kInvalidArgument when it cannot be sent at all (a bad URL).
  Result<HttpResponse> Perform(const HttpRequest& request);

  const HttpClientOptions& options() const { return options_; }

 private:
  struct EasyHandle;  // one CURL easy handle, with the connection it keeps

  std::unique_ptr<EasyHandle> Acquire();
  void Release(std::unique_ptr<EasyHandle> handle);

  const HttpClientOptions options_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<EasyHandle>> idle_;
};

}  // namespace re2po
