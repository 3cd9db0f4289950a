// Registry URLs and credentials as users write them: the forms of
// oci:// URLs, the auth files container tools leave, and the challenges
// registries answer with.
#include <fstream>

#include "store/remote/oci_location.h"
#include "store/remote/registry_auth.h"
#include "tests/testutil/status_testutil.h"
#include "tests/testutil/testutil.h"

namespace re2po::testing {
namespace {

TEST(OciUrlTest, LoopbackIsPlainHttpElsewhereHttpsUnlessAsked) {
  ASSERT_OK_AND_ASSIGN(OciLocation local, ParseOciUrl("oci://127.0.0.1:5000/models/prod"));
  EXPECT_EQ(local.BaseUrl(), "http://127.0.0.1:5000");
  EXPECT_EQ(local.repository, "models/prod");
  ASSERT_OK_AND_ASSIGN(OciLocation remote, ParseOciUrl("oci://registry.example/models/prod/"));
  EXPECT_EQ(remote.BaseUrl(), "https://registry.example");
  EXPECT_EQ(remote.repository, "models/prod");
  EXPECT_EQ(remote.ToString(), "oci://registry.example/models/prod");
  ASSERT_OK_AND_ASSIGN(OciLocation cluster, ParseOciUrl("oci+http://registry.cluster:5000/m"));
  EXPECT_EQ(cluster.BaseUrl(), "http://registry.cluster:5000");
  ASSERT_OK_AND_ASSIGN(OciLocation v6, ParseOciUrl("oci://[::1]:5000/m"));
  EXPECT_EQ(v6.scheme, "http");
}

TEST(OciUrlTest, MountFromNamesRepositoriesOfTheSameRegistry) {
  ASSERT_OK_AND_ASSIGN(OciLocation location,
                       ParseOciUrl("oci://r.example/models/pets?mount-from=models/resnet,base"));
  EXPECT_EQ(location.repository, "models/pets");
  EXPECT_EQ(location.mount_from, (std::vector<std::string>{"models/resnet", "base"}));
  EXPECT_FALSE(ParseOciUrl("oci://r.example/m?mount-from=Bad").ok());
  EXPECT_FALSE(ParseOciUrl("oci://r.example/m?tag=x").ok());
}

TEST(OciUrlTest, RepositoriesFollowTheDistributionGrammar) {
  for (const char* good : {"a", "models/resnet-pets", "a.b_c__d--e/f0", "x/y/z"}) {
    EXPECT_TRUE(ValidOciRepository(good)) << good;
  }
  for (const char* bad :
       {"", "Models", "a//b", "/a", "-a", "a-", "a._b", "a___b", "a/../b", "a b"}) {
    EXPECT_FALSE(ValidOciRepository(bad)) << bad;
  }
  for (const char* bad :
       {"oci://", "oci://host", "oci://host/", "s3://b/p", "oci://ho st/m", "oci://host/UPPER"}) {
    Result<OciLocation> parsed = ParseOciUrl(bad);
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

class RegistryAuthTest : public ::testing::Test {
 protected:
  std::filesystem::path Write(const std::string& name, const std::string& text) {
    const auto path = tmp_.path() / name;
    std::ofstream(path) << text;
    return path;
  }
  TempDir tmp_;
};

TEST_F(RegistryAuthTest, TheFirstFileThatNamesTheHostWins) {
  const auto podman = Write("auth.json", R"({"auths": {"other.example": {"auth": "eDp5"}}})");
  const auto docker = Write("config.json", R"({"auths": {"https://r.example:5000": {"auth": ")" +
                                               Base64Encode("alice:s3cr:et") + R"("},
                    "plain.example": {"username": "bob", "password": "pw"}},
          "credsStore": "desktop"})");
  const std::vector<std::filesystem::path> files = {tmp_.path() / "absent.json", podman, docker};
  ASSERT_OK_AND_ASSIGN(auto found, FindRegistryCredentials("r.example:5000", files));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->username, "alice");
  EXPECT_EQ(found->password, "s3cr:et");
  EXPECT_EQ(found->source, docker.string());
  ASSERT_OK_AND_ASSIGN(auto plain, FindRegistryCredentials("plain.example", files));
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->username, "bob");
  ASSERT_OK_AND_ASSIGN(auto none, FindRegistryCredentials("nobody.example", files));
  EXPECT_FALSE(none.has_value());
}

TEST_F(RegistryAuthTest, AFileThatCannotBeReadIsAnErrorNotAnonymity) {
  const auto broken = Write("broken.json", "{not json");
  EXPECT_EQ(FindRegistryCredentials("r.example", {broken}).status().code(),
            StatusCode::kInvalidArgument);
  const auto bad_auth = Write("bad.json", R"({"auths": {"r.example": {"auth": "bm9jb2xvbg=="}}})");
  Status status = FindRegistryCredentials("r.example", {bad_auth}).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message().find("nocolon"), std::string::npos) << "the secret is in the message";
}

TEST(AuthChallengeTest, BasicAndBearerWithTheirParameters) {
  auto bearer = ParseAuthChallenge(
      R"(Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push")");
  ASSERT_TRUE(bearer.has_value());
  EXPECT_EQ(bearer->scheme, "bearer");
  EXPECT_EQ(bearer->params["realm"], "https://auth.example/token");
  EXPECT_EQ(bearer->params["scope"], "repository:a/b:pull,push");
  auto basic = ParseAuthChallenge(R"(Basic realm="re2po-test")");
  ASSERT_TRUE(basic.has_value());
  EXPECT_EQ(basic->scheme, "basic");
  EXPECT_FALSE(ParseAuthChallenge("Negotiate abc").has_value());
  EXPECT_FALSE(ParseAuthChallenge("").has_value());
}

TEST(Base64Test, RoundTripsAndRefusesMalformedText) {
  for (const std::string text : {"", "a", "ab", "abc", "user:pass word"}) {
    EXPECT_EQ(Base64Decode(Base64Encode(text)), text);
  }
  EXPECT_FALSE(Base64Decode("abc").has_value());
  EXPECT_FALSE(Base64Decode("a!c=").has_value());
}

}  // namespace
}  // namespace re2po::testing
