// Credentials, region and endpoint come from where AWS tools take them, in
// the same order, and no message ever carries a secret.
#include "store/remote/aws_credentials.h"

#include <map>

#include "tests/testutil/status_testutil.h"

namespace re2po {
namespace {

using testing::TempDir;
using testing::WriteFileText;

constexpr const char* kSecret = "s3cr3t-NEVER-PRINTED";
constexpr const char* kProfileSecret = "profile-s3cr3t-NEVER-PRINTED";

// A fake environment and a temporary HOME, so the process's own
// environment and ~/.aws never leak in.
class AwsSettingsTest : public ::testing::Test {
 protected:
  AwsSettingsTest() { env_["HOME"] = home_.path().string(); }

  Result<AwsSettings> Load(std::string endpoint = "") {
    AwsSettingsOptions options;
    options.endpoint = std::move(endpoint);
    options.getenv = [this](const std::string& name) -> std::optional<std::string> {
      auto it = env_.find(name);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
    return LoadAwsSettings(options);
  }
  void WriteAws(const std::string& name, const std::string& text) {
    std::filesystem::create_directories(home_.path() / ".aws");
    WriteFileText(home_.path() / ".aws" / name, text);
  }

  TempDir home_;
  std::map<std::string, std::string> env_;
};

TEST_F(AwsSettingsTest, NothingAtAllMeansAnonymousInUsEast1) {
  ASSERT_OK_AND_ASSIGN(AwsSettings settings, Load());
  EXPECT_TRUE(settings.credentials.anonymous());
  EXPECT_EQ(settings.region, "us-east-1");
  EXPECT_EQ(settings.endpoint, "https://s3.us-east-1.amazonaws.com");
  EXPECT_EQ(settings.credential_source, "none (anonymous)");
}

TEST_F(AwsSettingsTest, EnvironmentWinsOverTheCredentialsFile) {
  WriteAws("credentials", "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = " +
                              std::string(kProfileSecret) + "\n");
  env_["AWS_ACCESS_KEY_ID"] = "ENVKEY";
  env_["AWS_SECRET_ACCESS_KEY"] = kSecret;
  env_["AWS_SESSION_TOKEN"] = "TOKEN";
  ASSERT_OK_AND_ASSIGN(AwsSettings settings, Load());
  EXPECT_EQ(settings.credentials.access_key_id, "ENVKEY");
  EXPECT_EQ(settings.credentials.secret_access_key, kSecret);
  EXPECT_EQ(settings.credentials.session_token, "TOKEN");
  EXPECT_EQ(settings.credential_source, "environment");
}

TEST_F(AwsSettingsTest, CommentsOtherProfilesSpacesAndCrlf) {
  WriteAws("credentials",
           "# comment\n; another\n[other]\naws_access_key_id=OTHER\naws_secret_access_key=x\n\n"
           "[ default ]\r\naws_access_key_id   =   FILEKEY  \r\naws_secret_access_key=" +
               std::string(kProfileSecret) + "\r\naws_session_token = TOK\r\n");
  ASSERT_OK_AND_ASSIGN(AwsSettings settings, Load());
  EXPECT_EQ(settings.credentials.access_key_id, "FILEKEY");
  EXPECT_EQ(settings.credentials.secret_access_key, kProfileSecret);
  EXPECT_EQ(settings.credentials.session_token, "TOK");
}

TEST_F(AwsSettingsTest, NestedBlocksAreNotTopLevelSettings) {
  WriteAws("config", "[default]\ns3 =\n  endpoint_url = http://nested:9\n  region = nested\n");
  ASSERT_OK_AND_ASSIGN(AwsSettings settings, Load());
  EXPECT_EQ(settings.region, "us-east-1");
  EXPECT_EQ(settings.endpoint, "https://s3.us-east-1.amazonaws.com");
}

TEST_F(AwsSettingsTest, ProfileFromAwsProfileAndTheSharedFileOverride) {
  const auto path = home_.path() / "elsewhere";
  WriteFileText(path,
                "[default]\naws_access_key_id=DEF\naws_secret_access_key=d\n"
                "[team]\naws_access_key_id = TEAMKEY\naws_secret_access_key = " +
                    std::string(kProfileSecret) + "\naws_session_token = TEAMTOKEN\n");
  env_["AWS_SHARED_CREDENTIALS_FILE"] = path.string();
  env_["AWS_PROFILE"] = "team";
  ASSERT_OK_AND_ASSIGN(AwsSettings settings, Load());
  EXPECT_EQ(settings.credentials.access_key_id, "TEAMKEY");
  EXPECT_EQ(settings.credentials.secret_access_key, kProfileSecret);
  EXPECT_EQ(settings.credentials.session_token, "TEAMTOKEN");
  EXPECT_EQ(settings.credential_source, "profile team in " + path.string());
}

TEST_F(AwsSettingsTest, DefaultProfileIsRead) {
  WriteAws("credentials", "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = " +
                              std::string(kProfileSecret) + "\n");
  ASSERT_OK_AND_ASSIGN(AwsSettings settings, Load());
  EXPECT_EQ(settings.credentials.access_key_id, "FILEKEY");
  EXPECT_EQ(settings.credentials.secret_access_key, kProfileSecret);
  EXPECT_TRUE(settings.credentials.session_token.empty());
}

TEST_F(AwsSettingsTest, RegionFromTheEnvironmentThenTheConfigProfile) {
  WriteAws("config", "[default]\nregion = eu-west-1\n[profile team]\nregion = ap-south-1\n");
  ASSERT_OK_AND_ASSIGN(AwsSettings from_default, Load());
  EXPECT_EQ(from_default.region, "eu-west-1");
  EXPECT_EQ(from_default.endpoint, "https://s3.eu-west-1.amazonaws.com");

  env_["AWS_PROFILE"] = "team";
  ASSERT_OK_AND_ASSIGN(AwsSettings from_profile, Load());
  EXPECT_EQ(from_profile.region, "ap-south-1");

  env_["AWS_DEFAULT_REGION"] = "us-west-2";
  ASSERT_OK_AND_ASSIGN(AwsSettings from_default_region, Load());
  EXPECT_EQ(from_default_region.region, "us-west-2");

  env_["AWS_REGION"] = "ca-central-1";
  ASSERT_OK_AND_ASSIGN(AwsSettings from_region, Load());
  EXPECT_EQ(from_region.region, "ca-central-1");
}

TEST_F(AwsSettingsTest, ConfigFileOverrideAndCredentialsInTheConfigFile) {
  const auto path = home_.path() / "my-config";
  WriteFileText(path,
                "[profile ci]\nregion = eu-north-1\naws_access_key_id = CFGKEY\n"
                "aws_secret_access_key = " +
                    std::string(kProfileSecret) + "\n");
  env_["AWS_CONFIG_FILE"] = path.string();
  env_["AWS_PROFILE"] = "ci";
  ASSERT_OK_AND_ASSIGN(AwsSettings settings, Load());
  EXPECT_EQ(settings.region, "eu-north-1");
  EXPECT_EQ(settings.credentials.access_key_id, "CFGKEY");
}

TEST_F(AwsSettingsTest, EndpointPrecedence) {
  WriteAws("config", "[default]\nendpoint_url = http://from-config:1\n");
  ASSERT_OK_AND_ASSIGN(AwsSettings from_config, Load());
  EXPECT_EQ(from_config.endpoint, "http://from-config:1");
  env_["AWS_ENDPOINT_URL"] = "http://generic:2";
  ASSERT_OK_AND_ASSIGN(AwsSettings generic, Load());
  EXPECT_EQ(generic.endpoint, "http://generic:2");
  env_["AWS_ENDPOINT_URL_S3"] = "http://s3-specific:3";
  ASSERT_OK_AND_ASSIGN(AwsSettings specific, Load());
  EXPECT_EQ(specific.endpoint, "http://s3-specific:3");
  ASSERT_OK_AND_ASSIGN(AwsSettings explicit_one, Load("http://explicit:4"));
  EXPECT_EQ(explicit_one.endpoint, "http://explicit:4");
}

TEST_F(AwsSettingsTest, EmptyVariablesCountAsUnset) {
  env_["AWS_ACCESS_KEY_ID"] = "";
  env_["AWS_SECRET_ACCESS_KEY"] = "";
  env_["AWS_REGION"] = "";
  env_["AWS_PROFILE"] = "";
  ASSERT_OK_AND_ASSIGN(AwsSettings settings, Load());
  EXPECT_TRUE(settings.credentials.anonymous());
  EXPECT_EQ(settings.region, "us-east-1");
}

TEST_F(AwsSettingsTest, MissingNamedProfileIsAnError) {
  WriteAws("credentials", "[default]\naws_access_key_id=A\naws_secret_access_key=B\n");
  env_["AWS_PROFILE"] = "nope";
  Result<AwsSettings> settings = Load();
  ASSERT_FALSE(settings.ok());
  EXPECT_EQ(settings.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(settings.status().message().find("'nope'"), std::string::npos);
}

TEST_F(AwsSettingsTest, HalfAPairIsAnErrorThatNamesNoSecret) {
  env_["AWS_SECRET_ACCESS_KEY"] = kSecret;
  Result<AwsSettings> from_env = Load();
  ASSERT_FALSE(from_env.ok());
  EXPECT_EQ(from_env.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(from_env.status().message().find(kSecret), std::string::npos);

  env_.erase("AWS_SECRET_ACCESS_KEY");
  WriteAws("credentials",
           "[default]\naws_secret_access_key = " + std::string(kProfileSecret) + "\n");
  Result<AwsSettings> from_file = Load();
  ASSERT_FALSE(from_file.ok());
  EXPECT_EQ(from_file.status().message().find(kProfileSecret), std::string::npos)
      << from_file.status().message();
  EXPECT_NE(from_file.status().message().find("profile default"), std::string::npos);
}

TEST_F(AwsSettingsTest, ProcessEnvironmentIsTheDefault) {
  // Only checks that the default lookup runs; the process's AWS settings
  // are whatever the machine has.
  Result<AwsSettings> settings = LoadAwsSettings();
  if (settings.ok()) {
    EXPECT_FALSE(settings->region.empty());
  }
}

}  // namespace
}  // namespace re2po
