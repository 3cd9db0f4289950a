// Credentials, region and endpoint found the way AWS tools find them, so a
// user's existing setup works unchanged:
//   credentials  AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN,
//                else the profile (AWS_PROFILE, "default") of the shared
//                credentials file (AWS_SHARED_CREDENTIALS_FILE,
//                ~/.aws/credentials), else of the config file; none at all
//                means anonymous, unsigned requests (public buckets).
//   region       AWS_REGION, AWS_DEFAULT_REGION, the profile's `region` in
//                the config file (AWS_CONFIG_FILE, ~/.aws/config), us-east-1.
//   endpoint     the explicit one, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the
//                profile's `endpoint_url`, https://s3.REGION.amazonaws.com.
// "~" is HOME, else the user's passwd entry (as botocore's expanduser).
// Not supported: SSO, credential_process, instance metadata, assume-role.
// Secrets never appear in messages or in Describe().
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "store/base/status.h"
#include "store/remote/sigv4.h"

namespace re2po {

struct AwsSettings {
  AwsCredentials credentials;
  std::string region;
  std::string endpoint;           // "http(s)://host[:port]"
  std::string credential_source;  // "environment", "profile default in /root/.aws/credentials",
                                  // "none (anonymous)": for messages
};

struct AwsSettingsOptions {
  std::string endpoint;  // wins over the environment and the config file
  // The environment lookup; the process environment when empty. Tests pass
  // their own so they never change the process's.
  std::function<std::optional<std::string>(const std::string& name)> getenv;
};

// Errors: a profile named by AWS_PROFILE that neither file has, a key id
// without its secret (or the reverse), an unreadable credentials file.
Result<AwsSettings> LoadAwsSettings(const AwsSettingsOptions& options = {});

}  // namespace re2po
