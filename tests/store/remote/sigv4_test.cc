// SigV4: the four signed examples AWS publishes for S3 ("Signature
// Calculations for the Authorization Header: Transferring Payload in a
// Single Chunk", AWS S3 API reference), then botocore's signature for inputs
// that stress the encodings (spaces, '+', '%', UTF-8, a session token).
#include "store/remote/sigv4.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/testutil/status_testutil.h"

namespace re2po {
namespace {

// The credentials and time of AWS's published examples.
const AwsCredentials kExampleCredentials{"AKIAIOSFODNN7EXAMPLE",
                                         "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
constexpr std::string_view kExampleDate = "20130524T000000Z";
constexpr std::string_view kExampleHost = "examplebucket.s3.amazonaws.com";
constexpr std::string_view kEmptyPayload =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string AuthorizationOf(const SigV4Signed& signed_request) {
  for (const auto& [name, value] : signed_request.headers) {
    if (name == "Authorization") return value;
  }
  return {};
}

TEST(SigV4Test, EmptyPayloadHashIsTheOnePublished) { EXPECT_EQ(Sha256Hex(""), kEmptyPayload); }

TEST(SigV4Test, PublishedExampleGetObjectWithRange) {
  SigV4Request request{"GET",        kExampleHost, "/test.txt", {}, {{"Range", "bytes=0-9"}},
                       kEmptyPayload};
  const SigV4Signed result = SignV4(request, kExampleCredentials, "us-east-1", kExampleDate);
  EXPECT_EQ(
      result.canonical_request,
      "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
      "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
      "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(result.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(result.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(AuthorizationOf(result),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4Test, PublishedExamplePutObjectEncodesTheDollarSign) {
  const std::string payload_hash = Sha256Hex("Welcome to Amazon S3.");
  EXPECT_EQ(payload_hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  SigV4Request request{
      "PUT",
      kExampleHost,
      "/test$file.text",
      {},
      {{"Date", "Fri, 24 May 2013 00:00:00 GMT"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
      payload_hash};
  const SigV4Signed result = SignV4(request, kExampleCredentials, "us-east-1", kExampleDate);
  EXPECT_EQ(result.encoded_path, "/test%24file.text");
  EXPECT_EQ(result.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
  EXPECT_EQ(result.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4Test, PublishedExampleGetBucketLifecycleSignsAValuelessParameter) {
  SigV4Request request{"GET", kExampleHost, "/", {{"lifecycle", ""}}, {}, kEmptyPayload};
  const SigV4Signed result = SignV4(request, kExampleCredentials, "us-east-1", kExampleDate);
  EXPECT_NE(result.canonical_request.find("\n/\nlifecycle=\n"), std::string::npos);
  EXPECT_EQ(result.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4Test, PublishedExampleListObjectsSortsTheQuery) {
  // Given out of order: the canonical query is sorted by key.
  SigV4Request request{"GET", kExampleHost, "/", {{"prefix", "J"}, {"max-keys", "2"}},
                       {},    kEmptyPayload};
  const SigV4Signed result = SignV4(request, kExampleCredentials, "us-east-1", kExampleDate);
  EXPECT_NE(result.canonical_request.find("\nmax-keys=2&prefix=J\n"), std::string::npos);
  EXPECT_EQ(result.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4Test, UriEncodeKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(UriEncode("AZaz09-._~", false), "AZaz09-._~");
  EXPECT_EQ(UriEncode("a b+c=d&e/f%g*h", false), "a%20b%2Bc%3Dd%26e%2Ff%25g%2Ah");
  EXPECT_EQ(UriEncode("dir/sub dir/ü", true), "dir/sub%20dir/%C3%BC");
  EXPECT_EQ(UriEncode(std::string("\0\xff", 2), false), "%00%FF");
}

TEST(SigV4Test, EncodeQuerySortsByEncodedKeyThenValue) {
  EXPECT_EQ(EncodeQuery({{"b", "2"}, {"a", "x y"}, {"a", "1"}, {"c", ""}}), "a=1&a=x%20y&b=2&c=");
  EXPECT_EQ(EncodeQuery({}), "");
}

TEST(SigV4Test, SessionTokenIsSentAndSigned) {
  const AwsCredentials credentials{"AKID", "SECRET", "session-token/with+slash"};
  SigV4Request request{"GET", "h", "/k", {}, {}, kEmptyPayload};
  const SigV4Signed result = SignV4(request, credentials, "eu-west-1", kExampleDate);
  EXPECT_NE(AuthorizationOf(result).find(
                "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"),
            std::string::npos);
  EXPECT_NE(AuthorizationOf(result).find("/20130524/eu-west-1/s3/aws4_request"), std::string::npos);
  bool token_sent = false;
  for (const auto& [name, value] : result.headers) {
    token_sent |= name == "x-amz-security-token" && value == credentials.session_token;
  }
  EXPECT_TRUE(token_sent);
}

TEST(SigV4Test, AmzDateIsUtc) {
  // 2013-05-24T00:00:00Z, the examples' time.
  const auto when = std::chrono::system_clock::from_time_t(1369353600);
  EXPECT_EQ(AmzDate(when), kExampleDate);
}

// botocore (the AWS CLI's signer) encodes the path and the query itself from
// the raw key; both encodings and the signature must agree with ours.
constexpr const char* kBotocoreSigner = R"PY(
import sys, json, datetime
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode_sequence, percent_encode
class FixedClock(datetime.datetime):
    @classmethod
    def utcnow(cls): return cls(2024, 1, 2, 3, 4, 5)
botocore.auth.datetime.datetime = FixedClock
a = json.loads(sys.argv[1])
url = a["endpoint"] + percent_encode(a["path"], safe="/~")
query = percent_encode_sequence(a["query"])
if query: url += "?" + query
request = AWSRequest(method=a["method"], url=url, headers={}, data=a["body"].encode())
credentials = Credentials(a["key"], a["secret"], a["token"] or None)
botocore.auth.S3SigV4Auth(credentials, "s3", a["region"]).add_auth(request)
print(json.dumps({"url": url, "authorization": request.headers["Authorization"]}))
)PY";

// botocore sends the query in the order given, we send it sorted: compare
// the parameters, not their order.
std::vector<std::string> SortedQuery(const std::string& url) {
  std::vector<std::string> parameters;
  const size_t question = url.find('?');
  if (question == std::string::npos) return parameters;
  std::string rest = url.substr(question + 1);
  size_t start = 0;
  while (start <= rest.size()) {
    const size_t amp = std::min(rest.find('&', start), rest.size());
    parameters.push_back(rest.substr(start, amp - start));
    start = amp + 1;
  }
  std::sort(parameters.begin(), parameters.end());
  return parameters;
}

struct BotocoreCase {
  std::string method;
  std::string path;
  QueryParams query;
  std::string body;
  std::string token;
};

void ExpectSameAsBotocore(const BotocoreCase& c) {
  const std::string host = "127.0.0.1:17480";
  const AwsCredentials credentials{"AKIDEXAMPLE", "secret/with+chars=", c.token};
  nlohmann::json input = {{"method", c.method},
                          {"endpoint", "http://" + host},
                          {"path", c.path},
                          {"query", nlohmann::json::object()},
                          {"body", c.body},
                          {"key", credentials.access_key_id},
                          {"secret", credentials.secret_access_key},
                          {"token", c.token},
                          {"region", "us-east-1"}};
  for (const auto& [key, value] : c.query) input["query"][key] = value;
  const auto run =
      testing::RunCommand("/usr/bin/python3 -c " + testing::ShellQuote(kBotocoreSigner) + " " +
                          testing::ShellQuote(input.dump()));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json expected = nlohmann::json::parse(run.out);

  const std::string payload = Sha256Hex(c.body);
  const SigV4Signed ours = SignV4({c.method, host, c.path, c.query, {}, payload}, credentials,
                                  "us-east-1", "20240102T030405Z");
  std::string url = "http://" + host + ours.encoded_path;
  if (!c.query.empty()) url += "?" + EncodeQuery(c.query);
  const std::string expected_url = expected["url"];
  EXPECT_EQ(url.substr(0, url.find('?')), expected_url.substr(0, expected_url.find('?')));
  EXPECT_EQ(SortedQuery(url), SortedQuery(expected_url));
  const std::string expected_authorization = expected["authorization"];
  EXPECT_NE(expected_authorization.find("Signature=" + ours.signature), std::string::npos)
      << "botocore: " << expected_authorization << "\nours canonical request:\n"
      << ours.canonical_request;
}

TEST(SigV4Test, AgreesWithBotocoreOnHostileKeysQueriesAndTokens) {
  if (!testing::PythonHasModules({"botocore"})) {
    GTEST_SKIP() << "/usr/bin/python3 has no botocore (apt install python3-botocore)";
  }
  ExpectSameAsBotocore({"GET", "/bkt/dir/a b+c~d%e&f=g/\xc3\xbc.bin", {}, "", ""});
  ExpectSameAsBotocore(
      {"GET",
       "/bkt",
       {{"list-type", "2"}, {"prefix", "a b/\xc3\xbc+&="}, {"continuation-token", "1/ABC+def=="}},
       "",
       "FQoGZXIvYXdzE//token+with/odd=chars"});
  ExpectSameAsBotocore({"PUT", "/bkt/packs/0001 (copy).pack", {}, std::string(1000, 'x'), ""});
  ExpectSameAsBotocore({"DELETE", "/bkt/a/./b/../c", {}, "", ""});
}

}  // namespace
}  // namespace re2po
