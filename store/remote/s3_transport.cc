#include "store/remote/s3_transport.h"

#include "store/remote/s3_xml.h"

namespace re2po {
namespace {

constexpr size_t kMaxErrorCode = 64;

std::string ErrorCodeOf(const HttpResponse& response) {
  std::string code = ParseS3Error(response.body).code;
  if (code.size() > kMaxErrorCode) code.resize(kMaxErrorCode);
  return code;
}

std::string StatusAndCode(const HttpResponse& response) {
  const std::string code = ErrorCodeOf(response);
  return std::to_string(response.status) + (code.empty() ? "" : " " + code);
}

// Beside the common reasons, S3 asks for another attempt with a 400 and
// a code.
std::optional<std::string> RetryReason(const Result<HttpResponse>& outcome) {
  if (outcome.ok() && (outcome->status >= 500 || outcome->status == 429)) {
    return StatusAndCode(*outcome);
  }
  if (outcome.ok() && outcome->status == 400) {
    const std::string code = ErrorCodeOf(*outcome);
    if (code == "SlowDown" || code == "RequestTimeout") return StatusAndCode(*outcome);
  }
  return CommonRetryReason(outcome);
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
  const std::string payload_sha256 = Sha256Hex(request.body);
  RetriedCall call;
  call.what = what;
  call.body_bytes = request.body.size();
  call.prepare = [&]() -> Result<HttpRequest> { return Prepare(request, payload_sha256); };
  call.retry_reason = RetryReason;
  return SendWithRetries(http_, retry_, counters_, call);
}

Status S3ErrorStatus(const HttpResponse& response, std::string_view what) {
  const S3ErrorBody error = ParseS3Error(response.body);
  const std::string head = std::string(what) + ": " + StatusAndCode(response);
  const std::string detail = error.message.empty() ? head : head + " (" + error.message + ")";
  return HttpAnswerStatus(response.status, head, detail);
}

}  // namespace re2po
