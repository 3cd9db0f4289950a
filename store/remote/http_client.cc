#include "store/remote/http_client.h"

#include <signal.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>

#include "store/remote/curl_library.h"

namespace re2po {
namespace {

constexpr uint64_t kMaxErrorBodyBytes = 64 << 10;

// libcurl, or null when it could not be loaded (Perform says why).
const CurlLibrary* g_curl = nullptr;

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    Result<const CurlLibrary*> loaded = LoadCurlLibrary();
    if (loaded.ok()) g_curl = *loaded;
    // Requests run with CURLOPT_NOSIGNAL (threads), which leaves SIGPIPE to
    // us: a TLS write to a connection the server closed would otherwise
    // kill the process. Only a default disposition is changed.
    struct sigaction current {};
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
      signal(SIGPIPE, SIG_IGN);
    }
  });
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { g_curl->slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

bool AppendHeader(Slist& list, const std::string& line) {
  curl_slist* grown = g_curl->slist_append(list.get(), line.c_str());
  if (grown == nullptr) return false;
  (void)list.release();  // curl_slist_append returned the same list, grown
  list.reset(grown);
  return true;
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view TrimHeaderValue(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  return value;
}

std::optional<uint64_t> ParseDecimal(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

// The state one transfer's callbacks share.
struct Transfer {
  HttpResponse response;
  std::optional<uint64_t> max_body_bytes;
  std::string_view upload;
  size_t upload_position = 0;
};

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::string_view line(data, size * count);
  HttpResponse& response = transfer->response;
  if (line.starts_with("HTTP/")) {
    // A new response (after 100 Continue or a redirect): forget the last one.
    const size_t space = line.find(' ');
    response.status = space == std::string_view::npos
                          ? 0
                          : static_cast<long>(ParseDecimal(line.substr(space + 1, 3)).value_or(0));
    response.etag.clear();
    response.content_length.reset();
    response.content_range.clear();
    response.location.clear();
    response.www_authenticate.clear();
    response.docker_content_digest.clear();
    response.link.clear();
    return line.size();
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return line.size();
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = TrimHeaderValue(line.substr(colon + 1));
  if (EqualsIgnoringCase(name, "etag")) {
    response.etag = value;
  } else if (EqualsIgnoringCase(name, "content-length")) {
    response.content_length = ParseDecimal(value);
  } else if (EqualsIgnoringCase(name, "content-range")) {
    response.content_range = value;
  } else if (EqualsIgnoringCase(name, "location")) {
    response.location = value;
  } else if (EqualsIgnoringCase(name, "www-authenticate")) {
    response.www_authenticate = value;
  } else if (EqualsIgnoringCase(name, "docker-content-digest")) {
    response.docker_content_digest = value;
  } else if (EqualsIgnoringCase(name, "link")) {
    response.link = value;
  }
  return line.size();
}

// The most of a body read: the caller's limit for a success, and enough for
// the error document (its code and message) otherwise.
std::optional<uint64_t> BodyLimit(const Transfer& transfer) {
  const long status = transfer.response.status;
  if (status >= 200 && status < 300) return transfer.max_body_bytes;
  return kMaxErrorBodyBytes;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  std::string& body = transfer->response.body;
  if (const std::optional<uint64_t> limit = BodyLimit(*transfer)) {
    const uint64_t room = *limit - std::min<uint64_t>(body.size(), *limit);
    if (bytes > room) {
      body.append(data, room);
      transfer->response.body_truncated = true;
      return 0;  // aborts the transfer; the connection is closed, not reused
    }
  }
  body.append(data, bytes);
  return bytes;
}

size_t OnUpload(char* buffer, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t n = std::min(size * count, transfer->upload.size() - transfer->upload_position);
  std::memcpy(buffer, transfer->upload.data() + transfer->upload_position, n);
  transfer->upload_position += n;
  return n;
}

int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* transfer = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > transfer->upload.size()) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  transfer->upload_position = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

// The URL without its query, for messages: a presigned URL's query is a
// credential.
std::string_view UrlForMessages(std::string_view url) { return url.substr(0, url.find('?')); }

Status TransportError(CURLcode code, const char* detail, const HttpRequest& request) {
  std::string message = request.method + " " + std::string(UrlForMessages(request.url)) + ": " +
                        (detail[0] != '\0' ? detail : g_curl->easy_strerror(code));
  switch (code) {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return Status::InvalidArgument(std::move(message));
    default:
      return Status::IOError(std::move(message));
  }
}

}  // namespace

struct HttpClient::EasyHandle {
  CURL* curl = nullptr;
  char error[CURL_ERROR_SIZE] = {};
  ~EasyHandle() {
    if (curl != nullptr) g_curl->easy_cleanup(curl);
  }
};

HttpClient::HttpClient(HttpClientOptions options) : options_(std::move(options)) { InitCurlOnce(); }

HttpClient::~HttpClient() = default;

std::unique_ptr<HttpClient::EasyHandle> HttpClient::Acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      std::unique_ptr<EasyHandle> handle = std::move(idle_.back());
      idle_.pop_back();
      return handle;
    }
  }
  auto handle = std::make_unique<EasyHandle>();
  handle->curl = g_curl->easy_init();
  if (handle->curl == nullptr) return nullptr;
  return handle;
}

void HttpClient::Release(std::unique_ptr<EasyHandle> handle) {
  std::lock_guard lock(mutex_);
  if (idle_.size() < options_.max_idle_handles) idle_.push_back(std::move(handle));
}

namespace {

Slist RequestHeaders(const HttpRequest& request, bool& ok) {
  Slist headers;
  ok = true;
  for (const auto& [name, value] : request.headers) {
    ok = ok && AppendHeader(headers, name + ": " + value);
  }
  if (request.range) {
    const HttpByteRange range = *request.range;
    ok = ok && AppendHeader(headers, "Range: bytes=" + std::to_string(range.offset) + "-" +
                                         std::to_string(range.offset + range.length - 1));
  }
  // No "Expect: 100-continue" round trip before a body: one request, one trip.
  ok = ok && AppendHeader(headers, "Expect:");
  return headers;
}

void SetMethod(CURL* curl, const HttpRequest& request, Transfer& transfer) {
  const bool sends_body =
      request.method == "PUT" || request.method == "POST" || request.method == "PATCH";
  if (request.method == "GET") {
    g_curl->easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    g_curl->easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (!sends_body) {
    g_curl->easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (!sends_body) return;
  transfer.upload = request.body;
  g_curl->easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  g_curl->easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  g_curl->easy_setopt(curl, CURLOPT_READFUNCTION, OnUpload);
  g_curl->easy_setopt(curl, CURLOPT_READDATA, &transfer);
  g_curl->easy_setopt(curl, CURLOPT_SEEKFUNCTION, OnSeek);
  g_curl->easy_setopt(curl, CURLOPT_SEEKDATA, &transfer);
  if (request.method != "PUT")
    g_curl->easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
}

void SetConnectionOptions(CURL* curl, const HttpClientOptions& options,
                          const HttpRequest& request) {
  g_curl->easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  g_curl->easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  g_curl->easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  // Keys may hold "." and ".." segments; they are names, not paths to squash.
  g_curl->easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
  g_curl->easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                      static_cast<long>(options.connect_timeout.count()));
  g_curl->easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT,
                      static_cast<long>(options.low_speed_bytes_per_second));
  g_curl->easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
                      static_cast<long>(options.low_speed_time.count()));
  if (request.timeout.count() > 0) {
    g_curl->easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    // A connect never outlives the attempt it belongs to.
    g_curl->easy_setopt(
        curl, CURLOPT_CONNECTTIMEOUT_MS,
        static_cast<long>(std::min(options.connect_timeout, request.timeout).count()));
  }
  g_curl->easy_setopt(curl, CURLOPT_FOLLOWLOCATION, options.follow_redirects ? 1L : 0L);
  g_curl->easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  if (!options.user_agent.empty()) {
    g_curl->easy_setopt(curl, CURLOPT_USERAGENT, options.user_agent.c_str());
  }
}

}  // namespace

Result<HttpResponse> HttpClient::Perform(const HttpRequest& request) {
  // The handle goes back to the pool however the request ends.
  struct Lease {
    HttpClient& client;
    std::unique_ptr<EasyHandle> handle;
    ~Lease() {
      if (handle != nullptr) client.Release(std::move(handle));
    }
  } lease{*this, g_curl != nullptr ? Acquire() : nullptr};
  if (g_curl == nullptr) return LoadCurlLibrary().status();
  if (lease.handle == nullptr) return Status::IOError("curl_easy_init failed");
  CURL* curl = lease.handle->curl;
  // Reset keeps the handle's live connection: that is the keep-alive.
  g_curl->easy_reset(curl);
  lease.handle->error[0] = '\0';

  Transfer transfer;
  transfer.max_body_bytes = request.max_body_bytes;
  bool headers_ok = false;
  const Slist headers = RequestHeaders(request, headers_ok);
  if (!headers_ok) return Status::IOError("out of memory building request headers");

  g_curl->easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  g_curl->easy_setopt(curl, CURLOPT_ERRORBUFFER, lease.handle->error);
  g_curl->easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  g_curl->easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  g_curl->easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  g_curl->easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  g_curl->easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  SetConnectionOptions(curl, options_, request);
  SetMethod(curl, request, transfer);

  const CURLcode code = g_curl->easy_perform(curl);
  const bool stopped_on_purpose = code == CURLE_WRITE_ERROR && transfer.response.body_truncated;
  if (code != CURLE_OK && !stopped_on_purpose) {
    return TransportError(code, lease.handle->error, request);
  }
  g_curl->easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &transfer.response.status);
  return std::move(transfer.response);
}

}  // namespace re2po
