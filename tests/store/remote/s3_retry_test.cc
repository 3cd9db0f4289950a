// Retries and deadlines against real TCP peers that fail: nothing listening,
// a peer that hangs up at once, a peer that never answers. Every call ends
// kBusy within its deadline (plus scheduling slack), having retried.
#include <chrono>

#include "store/remote/s3_store.h"
#include "tests/store/remote/remote_test_env.h"

namespace re2po {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// Slack for a loaded machine (the other core busy with a build).
constexpr milliseconds kSlack{1'500};

std::unique_ptr<S3Store> StoreAt(const std::string& endpoint, milliseconds deadline,
                                 int max_attempts) {
  S3Options options;
  options.bucket = "unreachable";
  options.prefix = "p";
  options.endpoint = endpoint;
  options.call_deadline = deadline;
  options.max_attempts = max_attempts;
  AwsSettings settings;
  settings.credentials = {"AKID", "retry-test-secret-NEVER-PRINTED", ""};
  settings.region = "us-east-1";
  auto store = OpenS3Store(options, settings);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

struct Timed {
  Status status;
  milliseconds elapsed;
};

template <typename Call>
Timed Time(Call call) {
  const auto start = Clock::now();
  Status status = call();
  return {std::move(status), std::chrono::duration_cast<milliseconds>(Clock::now() - start)};
}

void ExpectBusyWithin(const Timed& timed, milliseconds deadline) {
  EXPECT_EQ(timed.status.code(), StatusCode::kBusy) << timed.status.ToString();
  EXPECT_LE(timed.elapsed, deadline + kSlack) << timed.status.ToString();
  EXPECT_NE(timed.status.message().find("s3://unreachable/p/"), std::string::npos)
      << timed.status.message();
  EXPECT_EQ(timed.status.message().find("NEVER-PRINTED"), std::string::npos);
}

TEST(S3RetryTest, ClosedPortTimesOutWithinTheDeadlineAfterRetrying) {
  const milliseconds deadline{600};
  auto store = StoreAt(testing::ClosedEndpoint(), deadline, 1'000);
  ASSERT_NE(store, nullptr);
  const Timed timed = Time([&] { return store->Get("k").status(); });
  ExpectBusyWithin(timed, deadline);
  EXPECT_NE(timed.status.message().find("timed out after"), std::string::npos)
      << timed.status.message();
  EXPECT_NE(timed.status.message().find("fetching s3://unreachable/p/k"), std::string::npos);
  EXPECT_GE(store->counters().requests.load(), 2u);
  EXPECT_GE(store->counters().retries.load(), 1u);
  EXPECT_EQ(store->counters().errors.load(), 1u);
}

TEST(S3RetryTest, AttemptsRunOutBeforeALongDeadline) {
  auto store = StoreAt(testing::ClosedEndpoint(), milliseconds(60'000), 3);
  ASSERT_NE(store, nullptr);
  // Three refused connects and two waits of at most 50 and 100 ms.
  const Timed timed = Time([&] { return store->Put("k", "bytes"); });
  ExpectBusyWithin(timed, milliseconds(150));
  EXPECT_NE(timed.status.message().find("after 3 attempts"), std::string::npos)
      << timed.status.message();
  EXPECT_EQ(store->counters().requests.load(), 3u);
  EXPECT_EQ(store->counters().retries.load(), 2u);
}

TEST(S3RetryTest, PeerThatHangsUpIsRetriedUntilTheDeadline) {
  testing::MisbehavingPeer peer(testing::MisbehavingPeer::Mode::kCloseAtOnce);
  const milliseconds deadline{800};
  auto store = StoreAt(peer.endpoint(), deadline, 1'000);
  ASSERT_NE(store, nullptr);
  const Timed timed = Time([&] { return store->GetRange("k", 0, 10).status(); });
  ExpectBusyWithin(timed, deadline);
  EXPECT_GE(peer.accepted(), 2);
  EXPECT_GE(store->counters().retries.load(), 1u);
}

TEST(S3RetryTest, PeerThatNeverAnswersIsCutAtTheDeadline) {
  testing::MisbehavingPeer peer(testing::MisbehavingPeer::Mode::kSilent);
  const milliseconds deadline{700};
  auto store = StoreAt(peer.endpoint(), deadline, 6);
  ASSERT_NE(store, nullptr);
  const Timed timed = Time([&] { return store->List("").status(); });
  ExpectBusyWithin(timed, deadline);
  // The one attempt used the whole deadline: it was not cut short.
  EXPECT_GE(timed.elapsed, deadline - milliseconds(50));
  EXPECT_EQ(peer.accepted(), 1);
}

TEST(S3RetryTest, ManyThreadsAgainstADeadPeerAllEndBusy) {
  testing::MisbehavingPeer peer(testing::MisbehavingPeer::Mode::kCloseAtOnce);
  const milliseconds deadline{500};
  auto store = StoreAt(peer.endpoint(), deadline, 1'000);
  ASSERT_NE(store, nullptr);
  std::vector<Timed> results(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      results[i] = Time([&] { return store->Size("k" + std::to_string(i)).status(); });
    });
  }
  for (auto& thread : threads) thread.join();
  for (const Timed& timed : results) ExpectBusyWithin(timed, deadline);
  EXPECT_EQ(store->counters().errors.load(), results.size());
}

}  // namespace
}  // namespace re2po
