// S3Store against a real radosgw (Ceph Pacific, started by the ctest
// fixture): every ObjectStore call, its errors, and what it counts.
#include "store/remote/s3_store.h"

#include <fstream>

#include "tests/store/remote/remote_test_env.h"

namespace re2po {
namespace {

using testing::CephBucket;
using testing::RandomText;

const ::testing::TestInfo& Current() {
  return *::testing::UnitTest::GetInstance()->current_test_info();
}

class S3StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why_not;
    auto env = testing::FindCeph(why_not);
    if (!env) GTEST_SKIP() << why_not;
    env_ = *env;
    S3Options options;
    options.prefix = "repo/one";
    bucket_ = std::make_unique<CephBucket>(env_, Current().name(), options);
    ASSERT_OK(store().EnsureBucket());
  }
  S3Store& store() { return bucket_->store(); }

  testing::CephEnv env_;
  std::unique_ptr<CephBucket> bucket_;
};

TEST_F(S3StoreTest, PutThenGetReturnsTheSameBytes) {
  const std::string binary = RandomText(1 << 20, 1);
  ASSERT_OK(store().Put("blob", binary));
  ASSERT_OK(store().Put("empty", ""));
  ASSERT_OK(store().Put("text", "hello"));
  ASSERT_OK_AND_ASSIGN(std::string got, store().Get("blob"));
  EXPECT_EQ(got, binary);
  ASSERT_OK_AND_ASSIGN(std::string empty, store().Get("empty"));
  EXPECT_EQ(empty, "");
  ASSERT_OK_AND_ASSIGN(std::string text, store().Get("text"));
  EXPECT_EQ(text, "hello");
  // Overwriting replaces.
  ASSERT_OK(store().Put("text", "hello again"));
  ASSERT_OK_AND_ASSIGN(std::string again, store().Get("text"));
  EXPECT_EQ(again, "hello again");
}

TEST_F(S3StoreTest, KeysThatNeedEncodingRoundTrip) {
  const std::vector<std::string> keys = {
      "with space",  "plus+sign", "percent%41",   "amp&lt;=;?#", "unicod\xc3\xa9",
      "tilde~star*", "dir/./dot", "deep/a/b/c/d", "quote'\"",    "(paren)[br]"};
  for (const std::string& key : keys) {
    ASSERT_OK(store().Put(key, "value of " + key));
  }
  for (const std::string& key : keys) {
    ASSERT_OK_AND_ASSIGN(std::string got, store().Get(key));
    EXPECT_EQ(got, "value of " + key);
  }
  ASSERT_OK_AND_ASSIGN(std::vector<ListedObject> listed, store().List(""));
  std::vector<std::string> listed_keys;
  for (const auto& object : listed) listed_keys.push_back(object.key);
  std::vector<std::string> expected = keys;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(listed_keys, expected);
}

TEST_F(S3StoreTest, MissingObjectIsNotFoundAndNamesIt) {
  Result<std::string> got = store().Get("no/such/key");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kNotFound);
  EXPECT_NE(
      got.status().message().find("s3://" + bucket_->options().bucket + "/repo/one/no/such/key"),
      std::string::npos)
      << got.status().message();
  EXPECT_NE(got.status().message().find("NoSuchKey"), std::string::npos);
  EXPECT_EQ(store().GetRange("no/such/key", 0, 1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store().GetIfChanged("no/such/key", "\"x\"").status().code(), StatusCode::kNotFound);
  // Not found is an answer, not a failure of the store.
  EXPECT_EQ(store().counters().errors.load(), 0u);
}

TEST_F(S3StoreTest, SizeIsAHead) {
  ASSERT_OK(store().Put("sized", std::string(12'345, 'x')));
  ASSERT_OK_AND_ASSIGN(std::optional<uint64_t> size, store().Size("sized"));
  ASSERT_TRUE(size.has_value());
  EXPECT_EQ(*size, 12'345u);
  ASSERT_OK_AND_ASSIGN(std::optional<uint64_t> missing, store().Size("unsized"));
  EXPECT_FALSE(missing.has_value());
}

TEST_F(S3StoreTest, GetRangeReturnsExactlyTheRange) {
  const std::string object = RandomText(1 << 20, 2);
  ASSERT_OK(store().Put("ranged", object));
  const std::vector<std::pair<uint64_t, uint64_t>> ranges = {
      {0, 1}, {0, 10}, {1, 1}, {12'345, 67'890}, {(1 << 20) - 1, 1}, {0, 1 << 20}, {4096, 4096}};
  for (const auto& [offset, length] : ranges) {
    ASSERT_OK_AND_ASSIGN(std::string bytes, store().GetRange("ranged", offset, length));
    EXPECT_EQ(bytes, object.substr(offset, length)) << offset << "+" << length;
  }
  ASSERT_OK_AND_ASSIGN(std::string nothing, store().GetRange("ranged", 5, 0));
  EXPECT_EQ(nothing, "");
}

TEST_F(S3StoreTest, RangePastTheEndIsInvalidArgument) {
  ASSERT_OK(store().Put("short", "0123456789"));
  // Overlapping the end: radosgw answers 206 with fewer bytes.
  Result<std::string> overlapping = store().GetRange("short", 8, 4);
  ASSERT_FALSE(overlapping.ok());
  EXPECT_EQ(overlapping.status().code(), StatusCode::kInvalidArgument)
      << overlapping.status().ToString();
  // Starting past the end: 416 InvalidRange.
  Result<std::string> beyond = store().GetRange("short", 10, 1);
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.status().code(), StatusCode::kInvalidArgument) << beyond.status().ToString();
  EXPECT_NE(beyond.status().message().find("InvalidRange"), std::string::npos)
      << beyond.status().message();
}

TEST_F(S3StoreTest, ConditionalGetAnswersNotModifiedUntilTheObjectChanges) {
  ASSERT_OK(store().Put("head", "v1"));
  ASSERT_OK_AND_ASSIGN(std::optional<FetchedObject> first, store().GetIfChanged("head", ""));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->bytes, "v1");
  ASSERT_FALSE(first->etag.empty());
  EXPECT_EQ(first->etag.front(), '"');

  const uint64_t received = store().counters().bytes_received.load();
  ASSERT_OK_AND_ASSIGN(std::optional<FetchedObject> unchanged,
                       store().GetIfChanged("head", first->etag));
  EXPECT_FALSE(unchanged.has_value());
  EXPECT_EQ(store().counters().bytes_received.load(), received);  // a 304 has no body

  ASSERT_OK(store().Put("head", "v2"));
  ASSERT_OK_AND_ASSIGN(std::optional<FetchedObject> changed,
                       store().GetIfChanged("head", first->etag));
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ(changed->bytes, "v2");
  EXPECT_NE(changed->etag, first->etag);
}

TEST_F(S3StoreTest, ListPaginatesAndStaysInsideThePrefix) {
  S3Options small_pages;
  small_pages.prefix = "repo/one";
  small_pages.list_page_size = 3;
  std::unique_ptr<S3Store> paged = bucket_->Another(small_pages, env_.settings);
  ASSERT_NE(paged, nullptr);
  std::vector<std::string> expected;
  for (int i = 0; i < 11; ++i) {
    const std::string key = "packs/" + std::to_string(100 + i) + (i % 2 ? "&odd" : "");
    ASSERT_OK(store().Put(key, std::string(i, 'p')));
    expected.push_back(key);
  }
  ASSERT_OK(store().Put("packsX", "not under packs/"));
  ASSERT_OK(store().Put("head", "h"));
  // Another prefix in the same bucket, also starting with "repo/one".
  S3Options sibling;
  sibling.prefix = "repo/one-other";
  std::unique_ptr<S3Store> other = bucket_->Another(sibling, env_.settings);
  ASSERT_NE(other, nullptr);
  ASSERT_OK(other->Put("packs/999", "elsewhere"));

  const uint64_t requests_before = paged->counters().requests.load();
  ASSERT_OK_AND_ASSIGN(std::vector<ListedObject> listed, paged->List("packs/"));
  EXPECT_EQ(paged->counters().requests.load() - requests_before, 4u);  // 3+3+3+2
  ASSERT_EQ(listed.size(), expected.size());
  std::sort(expected.begin(), expected.end());
  for (size_t i = 0; i < listed.size(); ++i) {
    EXPECT_EQ(listed[i].key, expected[i]);
    const int n = std::stoi(expected[i].substr(6, 3)) - 100;
    EXPECT_EQ(listed[i].size, static_cast<uint64_t>(n));
  }
  ASSERT_OK_AND_ASSIGN(std::vector<ListedObject> everything, paged->List(""));
  EXPECT_EQ(everything.size(), expected.size() + 2);
  ASSERT_OK_AND_ASSIGN(std::vector<ListedObject> none, paged->List("nothing/"));
  EXPECT_TRUE(none.empty());
  ASSERT_OK_AND_ASSIGN(std::vector<ListedObject> others, other->List(""));
  ASSERT_EQ(others.size(), 1u);
  EXPECT_EQ(others[0].key, "packs/999");
  ASSERT_OK(other->Delete("packs/999"));
}

TEST_F(S3StoreTest, DeleteRemovesAndIsIdempotent) {
  ASSERT_OK(store().Put("doomed", "x"));
  ASSERT_OK(store().Delete("doomed"));
  EXPECT_EQ(store().Get("doomed").status().code(), StatusCode::kNotFound);
  ASSERT_OK(store().Delete("doomed"));
  ASSERT_OK(store().Delete("never-existed"));
}

TEST_F(S3StoreTest, WrongSecretIsPermissionDeniedAtOnceAndNeverPrinted) {
  AwsSettings wrong = env_.settings;
  const std::string secret = "wrong-secret-NEVER-PRINTED-0123456789";
  wrong.credentials.secret_access_key = secret;
  S3Options options;
  options.prefix = "repo/one";
  std::unique_ptr<S3Store> denied = bucket_->Another(options, wrong);
  ASSERT_NE(denied, nullptr);
  EXPECT_EQ(denied->Describe().find(secret), std::string::npos);
  EXPECT_EQ(denied->Describe().find(env_.settings.credentials.secret_access_key),
            std::string::npos);

  std::vector<Status> failures = {denied->Get("k").status(),
                                  denied->Put("k", "v"),
                                  denied->List("").status(),
                                  denied->Delete("k"),
                                  denied->GetRange("k", 0, 1).status(),
                                  denied->Size("k").status(),
                                  denied->EnsureBucket()};
  for (const Status& status : failures) {
    EXPECT_EQ(status.code(), StatusCode::kPermissionDenied) << status.ToString();
    EXPECT_EQ(status.ToString().find(secret), std::string::npos);
    EXPECT_EQ(status.ToString().find("NEVER-PRINTED"), std::string::npos);
  }
  EXPECT_NE(failures[0].message().find("SignatureDoesNotMatch"), std::string::npos)
      << failures[0].message();
  // A 403 is final: one request per call, no retries.
  EXPECT_EQ(denied->counters().requests.load(), failures.size());
  EXPECT_EQ(denied->counters().retries.load(), 0u);
  EXPECT_EQ(denied->counters().errors.load(), failures.size());
}

TEST_F(S3StoreTest, UnknownAccessKeyAndAnonymousArePermissionDenied) {
  AwsSettings unknown = env_.settings;
  unknown.credentials.access_key_id = "NOSUCHACCESSKEY00000";
  S3Options options;
  options.prefix = "repo/one";
  std::unique_ptr<S3Store> stranger = bucket_->Another(options, unknown);
  ASSERT_NE(stranger, nullptr);
  Status as_stranger = stranger->Put("k", "v");
  EXPECT_EQ(as_stranger.code(), StatusCode::kPermissionDenied) << as_stranger.ToString();
  EXPECT_NE(as_stranger.message().find("InvalidAccessKeyId"), std::string::npos);

  AwsSettings anonymous = env_.settings;
  anonymous.credentials = {};
  std::unique_ptr<S3Store> nobody = bucket_->Another(options, anonymous);
  ASSERT_NE(nobody, nullptr);
  EXPECT_NE(nobody->Describe().find("(anonymous)"), std::string::npos);
  ASSERT_OK(store().Put("private", "p"));
  EXPECT_EQ(nobody->Get("private").status().code(), StatusCode::kPermissionDenied);
}

TEST_F(S3StoreTest, MissingBucketIsNotFoundAndEnsureBucketCreatesItOnce) {
  CephBucket missing(env_, "missing");
  S3Store& fresh = missing.store();
  Result<std::string> got = fresh.Get("k");
  EXPECT_EQ(got.status().code(), StatusCode::kNotFound);
  EXPECT_NE(got.status().message().find("NoSuchBucket"), std::string::npos);
  // Deleting from a bucket that is not there is a mistake, not a no-op.
  EXPECT_EQ(fresh.Delete("k").code(), StatusCode::kNotFound);
  ASSERT_OK(fresh.EnsureBucket());
  ASSERT_OK(fresh.EnsureBucket());
  ASSERT_OK(fresh.Put("k", "v"));
  ASSERT_OK_AND_ASSIGN(std::string value, fresh.Get("k"));
  EXPECT_EQ(value, "v");
}

TEST_F(S3StoreTest, CountersFollowEveryRequest) {
  const ObjectStoreCounters& counters = store().counters();
  const uint64_t requests = counters.requests.load();
  const uint64_t sent = counters.bytes_sent.load();
  const uint64_t received = counters.bytes_received.load();
  ASSERT_OK(store().Put("counted", std::string(1000, 'c')));
  ASSERT_OK_AND_ASSIGN(std::string bytes, store().GetRange("counted", 100, 200));
  ASSERT_OK_AND_ASSIGN(std::string whole, store().Get("counted"));
  EXPECT_EQ(counters.requests.load() - requests, 3u);
  EXPECT_EQ(counters.bytes_sent.load() - sent, 1000u);
  EXPECT_EQ(counters.bytes_received.load() - received, 1200u);
  EXPECT_EQ(counters.retries.load(), 0u);
}

TEST_F(S3StoreTest, DescribeNamesBucketPrefixAndEndpointOnly) {
  const std::string text = store().Describe();
  EXPECT_EQ(text, "s3://" + bucket_->options().bucket + "/repo/one at " + env_.settings.endpoint);
  EXPECT_EQ(text.find(env_.settings.credentials.secret_access_key), std::string::npos);
}

TEST_F(S3StoreTest, UserAgentReachesTheServer) {
  const std::string agent = "re2po-test-agent/" + bucket_->options().bucket;
  S3Options options;
  options.prefix = "repo/one";
  options.user_agent = agent;
  std::unique_ptr<S3Store> tagged = bucket_->Another(options, env_.settings);
  ASSERT_NE(tagged, nullptr);
  ASSERT_OK(tagged->Put("agent", "a"));
  // radosgw logs one "beast:" line per request with its User-Agent, written
  // once the request completes: wait for it, bounded.
  const auto log = env_.dir / "log" / "ceph-client.rgw.re2po.log";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool seen = false;
  while (!seen && std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(log);
    std::string line;
    while (!seen && std::getline(in, line)) seen = line.find(agent) != std::string::npos;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(seen) << "no request with User-Agent " << agent << " in " << log;
}

TEST_F(S3StoreTest, EmptyKeyIsRefusedBeforeAnyRequest) {
  const uint64_t requests = store().counters().requests.load();
  EXPECT_EQ(store().Get("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store().Put("", "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store().counters().requests.load(), requests);
}

TEST(OpenS3StoreTest, RefusesBadBucketsAndEndpoints) {
  AwsSettings settings;
  settings.endpoint = "http://127.0.0.1:1";
  S3Options no_bucket;
  EXPECT_EQ(OpenS3Store(no_bucket, settings).status().code(), StatusCode::kInvalidArgument);
  S3Options slash;
  slash.bucket = "a/b";
  EXPECT_EQ(OpenS3Store(slash, settings).status().code(), StatusCode::kInvalidArgument);
  S3Options bad_endpoint;
  bad_endpoint.bucket = "b";
  bad_endpoint.endpoint = "127.0.0.1:17480";
  EXPECT_EQ(OpenS3Store(bad_endpoint, settings).status().code(), StatusCode::kInvalidArgument);
}

TEST(OpenS3StoreTest, PrefixSlashesAreTrimmed) {
  AwsSettings settings;
  settings.endpoint = "http://127.0.0.1:1";
  S3Options options;
  options.bucket = "b";
  options.prefix = "/team/models/";
  auto store = OpenS3Store(options, settings);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->Describe(), "s3://b/team/models at http://127.0.0.1:1 (anonymous)");
}

}  // namespace
}  // namespace re2po
