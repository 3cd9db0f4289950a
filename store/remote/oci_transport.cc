#include "store/remote/oci_transport.h"

#include <nlohmann/json.hpp>

#include "store/base/log.h"

namespace re2po {
namespace {

std::string QueryEscape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string escaped;
  for (char c : text) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '.' || c == '_' || c == '~';
    if (plain) {
      escaped += c;
    } else {
      escaped += '%';
      escaped += kHex[static_cast<unsigned char>(c) >> 4];
      escaped += kHex[static_cast<unsigned char>(c) & 15];
    }
  }
  return escaped;
}

// "errors": [{"code": "BLOB_UNKNOWN", "message": "..."}], the distribution
// spec's error body; empty when the body is something else.
std::string RegistryErrorCode(const HttpResponse& response) {
  const nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("errors")) return {};
  const nlohmann::json& errors = body["errors"];
  if (!errors.is_array() || errors.empty() || !errors[0].is_object()) return {};
  std::string code = errors[0].value("code", "");
  const std::string message = errors[0].value("message", "");
  if (!message.empty()) code += " (" + message.substr(0, 200) + ")";
  return code;
}

}  // namespace

OciTransport::OciTransport(OciLocation location, std::optional<RegistryCredentials> credentials,
                           HttpClientOptions http, RetryPolicy retry, ObjectStoreCounters& counters)
    : location_(std::move(location)),
      credentials_(std::move(credentials)),
      retry_(retry),
      http_(std::move(http)),
      counters_(counters) {}

std::string OciTransport::BasicAuthorization() const {
  return "Basic " + Base64Encode(credentials_->username + ":" + credentials_->password);
}

Result<HttpResponse> OciTransport::SendOnce(const OciCall& call, std::string_view what,
                                            std::string& used) {
  RetriedCall retried;
  retried.what = what;
  retried.body_bytes = call.body.size();
  retried.prepare = [&]() -> Result<HttpRequest> {
    HttpRequest request;
    request.method = call.method;
    request.url = call.url;
    request.headers = call.headers;
    request.body = call.body;
    request.range = call.range;
    request.max_body_bytes = call.max_body_bytes;
    if (call.to_registry) {
      std::lock_guard lock(mutex_);
      used = authorization_;
      if (!used.empty()) request.headers.emplace_back("Authorization", used);
    }
    return request;
  };
  retried.retry_reason = CommonRetryReason;
  return SendWithRetries(http_, retry_, counters_, retried);
}

Result<HttpResponse> OciTransport::Send(const OciCall& call, std::string_view what) {
  std::string used;
  ASSIGN_OR_RETURN(HttpResponse response, SendOnce(call, what, used));
  if (response.status != 401 || !call.to_registry) return response;
  RETURN_IF_ERROR(Authenticate(response, used, what));
  ASSIGN_OR_RETURN(response, SendOnce(call, what, used));
  if (response.status == 401 && credentials_ && used == BasicAuthorization()) {
    return Status::PermissionDenied(std::string(what) + ": " + location_.host +
                                    " refuses the credentials from " + credentials_->source);
  }
  return response;
}

Status OciTransport::Authenticate(const HttpResponse& refused, const std::string& used,
                                  std::string_view what) {
  {
    std::lock_guard lock(mutex_);
    if (authorization_ != used) return Status::Ok();  // another call authenticated meanwhile
  }
  const std::optional<AuthChallenge> challenge = ParseAuthChallenge(refused.www_authenticate);
  if (!challenge) {
    return Status::PermissionDenied(std::string(what) +
                                    ": 401 without a Basic or Bearer challenge");
  }
  if (challenge->scheme == "bearer") return FetchToken(*challenge, what);
  if (!credentials_) {
    return Status::PermissionDenied(std::string(what) + ": " + location_.host +
                                    " wants credentials and none of the registry auth files "
                                    "(REGISTRY_AUTH_FILE, ~/.docker/config.json) names it");
  }
  std::lock_guard lock(mutex_);
  if (used == BasicAuthorization()) {
    return Status::PermissionDenied(std::string(what) + ": " + location_.host +
                                    " refuses the credentials from " + credentials_->source);
  }
  authorization_ = BasicAuthorization();
  return Status::Ok();
}

Status OciTransport::FetchToken(const AuthChallenge& challenge, std::string_view what) {
  const auto realm = challenge.params.find("realm");
  if (realm == challenge.params.end() || realm->second.empty()) {
    return Status::PermissionDenied(std::string(what) + ": a Bearer challenge without a realm");
  }
  std::string url = realm->second;
  char separator = url.find('?') == std::string::npos ? '?' : '&';
  for (const char* name : {"service", "scope"}) {
    const auto param = challenge.params.find(name);
    if (param == challenge.params.end()) continue;
    url += separator + std::string(name) + "=" + QueryEscape(param->second);
    separator = '&';
  }
  OciCall call;
  call.url = url;
  call.to_registry = false;
  if (credentials_) call.headers.emplace_back("Authorization", BasicAuthorization());
  const std::string asking = std::string(what) + ": asking " +
                             realm->second.substr(0, realm->second.find('?')) + " for a token";
  std::string unused;
  ASSIGN_OR_RETURN(HttpResponse answer, SendOnce(call, asking, unused));
  if (answer.status != 200) return OciErrorStatus(answer, asking);
  const nlohmann::json body = nlohmann::json::parse(answer.body, nullptr, false);
  std::string token;
  if (body.is_object()) token = body.value("token", body.value("access_token", ""));
  if (token.empty()) return Status::PermissionDenied(asking + ": the answer holds no token");
  std::lock_guard lock(mutex_);
  authorization_ = "Bearer " + token;
  Logger("remote")->debug("{}: a token for {}", location_.ToString(),
                          challenge.params.contains("scope") ? challenge.params.at("scope") : "");
  return Status::Ok();
}

Status OciErrorStatus(const HttpResponse& response, std::string_view what) {
  const std::string code = RegistryErrorCode(response);
  const std::string head =
      std::string(what) + ": " + std::to_string(response.status) + (code.empty() ? "" : " " + code);
  return HttpAnswerStatus(response.status, head, head);
}

}  // namespace re2po
