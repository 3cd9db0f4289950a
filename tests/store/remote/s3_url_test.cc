// Endpoints parse into what the Host header and the signature need, and
// both addressing styles put the bucket where S3 expects it.
#include "store/remote/s3_url.h"

#include "tests/testutil/status_testutil.h"

namespace re2po {
namespace {

TEST(S3EndpointTest, ParsesHostPortAndPath) {
  ASSERT_OK_AND_ASSIGN(S3Endpoint local, ParseS3Endpoint("http://127.0.0.1:17480"));
  EXPECT_EQ(local.scheme, "http");
  EXPECT_EQ(local.host, "127.0.0.1");
  EXPECT_EQ(local.port, "17480");
  EXPECT_EQ(local.base_path, "");
  EXPECT_EQ(local.ToString(), "http://127.0.0.1:17480");

  ASSERT_OK_AND_ASSIGN(S3Endpoint aws, ParseS3Endpoint("https://s3.eu-west-1.amazonaws.com/"));
  EXPECT_EQ(aws.host, "s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(aws.port, "");
  EXPECT_EQ(aws.base_path, "");

  ASSERT_OK_AND_ASSIGN(S3Endpoint v6, ParseS3Endpoint("http://[::1]:9000/gateway/s3/"));
  EXPECT_EQ(v6.host, "[::1]");
  EXPECT_EQ(v6.port, "9000");
  EXPECT_EQ(v6.base_path, "/gateway/s3");
}

TEST(S3EndpointTest, DefaultPortsAreLeftOutAsCurlAndBotocoreDo) {
  ASSERT_OK_AND_ASSIGN(S3Endpoint http, ParseS3Endpoint("http://minio:80"));
  EXPECT_EQ(http.port, "");
  ASSERT_OK_AND_ASSIGN(S3Endpoint https, ParseS3Endpoint("https://minio:443"));
  EXPECT_EQ(https.port, "");
  ASSERT_OK_AND_ASSIGN(S3Endpoint other, ParseS3Endpoint("https://minio:80"));
  EXPECT_EQ(other.port, "80");
}

TEST(S3EndpointTest, RejectsWhatIsNotAnEndpoint) {
  for (std::string_view url :
       {"", "127.0.0.1:17480", "ftp://host", "http://", "http://:80", "http://host:port",
        "http://host:123456", "http://user:pass@host", "http://host/?x=1", "http://[::1",
        "http://host#frag", "http://ho st"}) {
    Result<S3Endpoint> endpoint = ParseS3Endpoint(url);
    EXPECT_FALSE(endpoint.ok()) << url;
    if (!endpoint.ok()) {
      EXPECT_EQ(endpoint.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(S3TargetTest, PathStyleAndVirtualHosted) {
  ASSERT_OK_AND_ASSIGN(S3Endpoint endpoint, ParseS3Endpoint("http://127.0.0.1:17480"));
  const S3Target path_style = MakeS3Target(endpoint, "bkt", "p/k", true);
  EXPECT_EQ(path_style.host, "127.0.0.1:17480");
  EXPECT_EQ(path_style.path, "/bkt/p/k");
  EXPECT_EQ(MakeS3Target(endpoint, "bkt", "", true).path, "/bkt");

  ASSERT_OK_AND_ASSIGN(S3Endpoint aws, ParseS3Endpoint("https://s3.us-east-1.amazonaws.com"));
  const S3Target hosted = MakeS3Target(aws, "bkt", "p/k", false);
  EXPECT_EQ(hosted.host, "bkt.s3.us-east-1.amazonaws.com");
  EXPECT_EQ(hosted.path, "/p/k");
  EXPECT_EQ(MakeS3Target(aws, "bkt", "", false).path, "/");
  EXPECT_EQ(S3Url(aws, hosted, "/p/k", "a=1"), "https://bkt.s3.us-east-1.amazonaws.com/p/k?a=1");
}

TEST(S3TargetTest, BasePathComesFirst) {
  ASSERT_OK_AND_ASSIGN(S3Endpoint endpoint, ParseS3Endpoint("http://gw:8080/s3"));
  EXPECT_EQ(MakeS3Target(endpoint, "bkt", "k", true).path, "/s3/bkt/k");
}

}  // namespace
}  // namespace re2po
