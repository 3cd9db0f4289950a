// One call to an OCI registry: retried as retry.h says, authenticated the
// way registries ask. The first request goes out with what worked last
// time; a 401 names the scheme: Basic (the docker config's credentials) or
// Bearer (a token from the realm the challenge names, asked with those
// credentials when there are any, kept until the registry refuses it).
// Credentials and tokens never reach a message or a log.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "store/base/status.h"
#include "store/remote/http_client.h"
#include "store/remote/object_store.h"
#include "store/remote/oci_location.h"
#include "store/remote/registry_auth.h"
#include "store/remote/retry.h"

namespace re2po {

struct OciCall {
  std::string method = "GET";
  std::string url;  // absolute
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;  // must outlive the call
  std::optional<HttpByteRange> range;
  std::optional<uint64_t> max_body_bytes;
  // False for a redirect to object storage: its URL carries its own
  // signature, and the registry's credentials must not travel there.
  bool to_registry = true;
};

class OciTransport {
 public:
  OciTransport(OciLocation location, std::optional<RegistryCredentials> credentials,
               HttpClientOptions http, RetryPolicy retry, ObjectStoreCounters& counters);

  // The first answer not worth retrying or authenticating again, whatever
  // its status. `what` names the call in messages.
  Result<HttpResponse> Send(const OciCall& call, std::string_view what);

  const OciLocation& location() const { return location_; }
  bool has_credentials() const { return credentials_.has_value(); }

 private:
  // `used` is set to the Authorization the last attempt carried.
  Result<HttpResponse> SendOnce(const OciCall& call, std::string_view what, std::string& used);
  // Sets authorization_ from a 401's challenge to an attempt that carried
  // `used`; another thread may have done so since.
  Status Authenticate(const HttpResponse& refused, const std::string& used, std::string_view what);
  Status FetchToken(const AuthChallenge& challenge, std::string_view what);
  std::string BasicAuthorization() const;

  const OciLocation location_;
  const std::optional<RegistryCredentials> credentials_;
  const RetryPolicy retry_;
  HttpClient http_;
  ObjectStoreCounters& counters_;
  std::mutex mutex_;
  std::string authorization_;  // the Authorization header's value; empty: none yet
};

// The Status for a registry's answer the call cannot use: 404 kNotFound,
// 401/403 kPermissionDenied, other 4xx and 3xx kInvalidArgument, anything
// else kIOError; the message names `what` and the registry's error code.
Status OciErrorStatus(const HttpResponse& response, std::string_view what);

}  // namespace re2po
