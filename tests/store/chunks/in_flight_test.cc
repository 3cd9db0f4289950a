// InFlightFetches: callers that overlap share one fetch and its result.
#include "store/chunks/in_flight.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "tests/testutil/status_testutil.h"

namespace re2po {
namespace {

using namespace std::chrono_literals;

TEST(InFlightFetchesTest, OverlappingCallersShareOneFetchAndLaterOnesFetchAgain) {
  InFlightFetches in_flight;
  const Digest digest = Sha256Of(std::string_view("chunk"));
  std::atomic<int> fetches{0};
  auto slow_fetch = [&]() -> Result<ChunkBytes> {
    ++fetches;
    std::this_thread::sleep_for(200ms);  // long enough for every thread to arrive
    return ChunkBytes(std::make_shared<const std::vector<uint8_t>>(3, uint8_t{7}));
  };
  std::vector<ChunkBytes> results(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      auto result = in_flight.Share(digest, slow_fetch);
      if (result.ok()) results[i] = *result;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(fetches.load(), 1);
  for (const ChunkBytes& result : results) {
    ASSERT_NE(result, nullptr);
    EXPECT_EQ(result, results[0]) << "every caller gets the one fetched buffer";
  }
  ASSERT_TRUE(in_flight.Share(digest, slow_fetch).ok());
  EXPECT_EQ(fetches.load(), 2) << "a fetch that ended is not reused";
}

TEST(InFlightFetchesTest, AnErrorReachesEveryWaiterAndIsNotRemembered) {
  InFlightFetches in_flight;
  const Digest digest = Sha256Of(std::string_view("bad"));
  std::atomic<int> fetches{0};
  auto failing = [&]() -> Result<ChunkBytes> {
    ++fetches;
    std::this_thread::sleep_for(200ms);
    return Status::Corruption("chunk content does not match its checksum");
  };
  std::atomic<int> corruption{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto result = in_flight.Share(digest, failing);
      if (!result.ok() && result.status().IsCorruption()) ++corruption;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(corruption.load(), 4);
  EXPECT_EQ(fetches.load(), 1);
  auto good = in_flight.Share(digest, [] {
    return Result<ChunkBytes>(std::make_shared<const std::vector<uint8_t>>(1, uint8_t{1}));
  });
  EXPECT_TRUE(good.ok());
}

// A reader that got EIO and reads again must really fetch again, never join
// the fetch whose error it has already seen.
TEST(InFlightFetchesTest, AWaiterThatAsksAgainStartsANewFetch) {
  InFlightFetches in_flight;
  const Digest digest = Sha256Of(std::string_view("again"));
  for (int round = 0; round < 300; ++round) {
    std::atomic<int> fetches{0};
    std::atomic<bool> started{false};
    auto failing = [&]() -> Result<ChunkBytes> {
      ++fetches;
      started = true;
      std::this_thread::sleep_for(1ms);
      return Status::Corruption("bad chunk");
    };
    std::thread leader([&] { (void)in_flight.Share(digest, failing); });
    while (!started) std::this_thread::yield();
    (void)in_flight.Share(digest, failing);  // joins or follows the leader
    const int before_retry = fetches.load();
    (void)in_flight.Share(digest, failing);
    EXPECT_EQ(fetches.load(), before_retry + 1) << "round " << round;
    leader.join();
  }
}

TEST(InFlightFetchesTest, AThrowingFetchLeavesNothingBehind) {
  InFlightFetches in_flight;
  const Digest digest = Sha256Of(std::string_view("throws"));
  EXPECT_THROW(in_flight.Share(digest, []() -> Result<ChunkBytes> { throw std::bad_alloc(); }),
               std::bad_alloc);
  auto after = in_flight.Share(digest, [] {
    return Result<ChunkBytes>(std::make_shared<const std::vector<uint8_t>>(2, uint8_t{2}));
  });
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after)->size(), 2u);
}

}  // namespace
}  // namespace re2po
