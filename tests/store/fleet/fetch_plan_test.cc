// Fetch plans: a file's missing chunks become few ranged GETs, one or more
// per pack, merged across gaps while the unwanted bytes stay within their
// share and split at large ones, the chunks a node has left out, and the
// runs ordered by where the file wants them.
#include "store/fleet/fetch_plan.h"

#include <gtest/gtest.h>

#include "tests/testutil/testutil.h"

namespace re2po {
namespace {

Digest Named(uint8_t seed) { return testing::FilledDigest(seed); }

constexpr uint64_t kKiB = 1024;

// Chunks named 1..n, each `length` bytes, placed by the test in two packs.
class FetchPlanTest : public ::testing::Test {
 protected:
  void Place(uint8_t chunk, int pack, uint64_t offset, uint64_t length = 64 * kKiB) {
    index_.chunks[Named(chunk)] = NodeChunk{&packs_[pack], ChunkLocation{0, offset, length, {}}};
  }
  static Recipe FileOf(const std::vector<uint8_t>& chunks) {
    Recipe recipe;
    uint64_t end = 0;
    for (uint8_t chunk : chunks) recipe.extents.push_back({Named(chunk), end += 100});
    return recipe;
  }
  std::vector<FetchRun> Plan(const Recipe& recipe, size_t first = 0,
                             std::function<bool(const Digest&)> have = nullptr) {
    if (!have) have = [](const Digest&) { return false; };
    return PlanFileRuns(index_, recipe, first, have, limits_);
  }
  static std::vector<Digest> ChunksOf(const FetchRun& run) {
    std::vector<Digest> chunks;
    for (const auto& [chunk, location] : run.chunks) chunks.push_back(chunk);
    return chunks;
  }

  std::array<Digest, 2> packs_{Named(200), Named(201)};
  NodeIndex index_;
  FetchPlanLimits limits_;
};

TEST_F(FetchPlanTest, AFineTuneInterleavedOverTwoPacksTakesOneGetPerPackWhenGapsAreAffordable) {
  limits_.max_gap_share = 1.0;
  // The backbone's pack holds 1..6 in order; the fine-tune replaced 2 and 5
  // with 7 and 8, which its own pack holds.
  for (uint8_t chunk = 1; chunk <= 6; ++chunk) Place(chunk, 0, (chunk - 1) * 64 * kKiB);
  Place(7, 1, 0);
  Place(8, 1, 64 * kKiB);
  std::vector<FetchRun> runs = Plan(FileOf({1, 7, 3, 4, 8, 6}));
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].pack, packs_[0]);
  EXPECT_EQ(runs[0].offset, 0u);
  EXPECT_EQ(runs[0].length, 6 * 64 * kKiB);  // 2 and 5 come along unwanted
  EXPECT_EQ(ChunksOf(runs[0]), (std::vector<Digest>{Named(1), Named(3), Named(4), Named(6)}));
  EXPECT_EQ(runs[1].pack, packs_[1]);
  EXPECT_EQ(runs[1].length, 2 * 64 * kKiB);
  EXPECT_EQ(ChunksOf(runs[1]), (std::vector<Digest>{Named(7), Named(8)}));
}

TEST_F(FetchPlanTest, AGapWiderThanTheLimitSplitsARun) {
  limits_.max_gap_share = 100;  // the bytes are no object here
  Place(1, 0, 0);
  Place(2, 0, 64 * kKiB + limits_.max_gap_bytes);              // a gap just at the limit: joined
  Place(3, 0, 2 * 64 * kKiB + 2 * limits_.max_gap_bytes + 1);  // one byte over: split
  std::vector<FetchRun> runs = Plan(FileOf({1, 2, 3}));
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(ChunksOf(runs[0]), (std::vector<Digest>{Named(1), Named(2)}));
  EXPECT_EQ(ChunksOf(runs[1]), (std::vector<Digest>{Named(3)}));
}

TEST_F(FetchPlanTest, ARunStopsAtItsLengthBound) {
  limits_.max_run_bytes = 3 * 64 * kKiB;
  for (uint8_t chunk = 1; chunk <= 7; ++chunk) Place(chunk, 0, (chunk - 1) * 64 * kKiB);
  std::vector<FetchRun> runs = Plan(FileOf({1, 2, 3, 4, 5, 6, 7}));
  ASSERT_EQ(runs.size(), 3u);
  for (const FetchRun& run : runs) EXPECT_LE(run.length, limits_.max_run_bytes);
  EXPECT_EQ(ChunksOf(runs[2]), (std::vector<Digest>{Named(7)}));
}

TEST_F(FetchPlanTest, ChunksTheNodeHasOrThatRepeatAreLeftOutAndUnknownOnesSkipped) {
  limits_.max_gap_share = 1.0;  // the chunk the node has leaves a gap
  for (uint8_t chunk = 1; chunk <= 4; ++chunk) Place(chunk, 0, (chunk - 1) * 64 * kKiB);
  std::vector<FetchRun> runs = Plan(FileOf({1, 2, 2, 3, 99, 4, 1}), 0,
                                    [](const Digest& chunk) { return chunk == Named(3); });
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(ChunksOf(runs[0]), (std::vector<Digest>{Named(1), Named(2), Named(4)}));
  EXPECT_TRUE(Plan(FileOf({1, 2, 3, 4}), 0, [](const Digest&) { return true; }).empty());
}

TEST_F(FetchPlanTest, UnwantedBytesStayWithinTheirShareSmallestGapsFirst) {
  // Twenty wanted chunks of 64 KiB (1.25 MiB) in one pack, with gaps of
  // 16, 32 and 48 KiB after the 5th, 10th and 15th; a share of 4% (51 KiB)
  // pays for the 16 and 32 KiB gaps, not the 48.
  limits_.max_gap_share = 0.04;
  uint64_t offset = 0;
  std::vector<uint8_t> file;
  for (uint8_t chunk = 1; chunk <= 20; ++chunk) {
    Place(chunk, 0, offset);
    offset += 64 * kKiB;
    if (chunk == 5) offset += 48 * kKiB;
    if (chunk == 10) offset += 16 * kKiB;
    if (chunk == 15) offset += 32 * kKiB;
    file.push_back(chunk);
  }
  std::vector<FetchRun> runs = Plan(FileOf(file));
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].length, 5 * 64 * kKiB);
  EXPECT_EQ(runs[1].length, 15 * 64 * kKiB + 48 * kKiB);
  // With no share at all, each gap splits.
  limits_.max_gap_share = 0;
  EXPECT_EQ(Plan(FileOf(file)).size(), 4u);
}

TEST_F(FetchPlanTest, RunsComeInTheOrderTheFileWantsThemFromWhereTheReadStarts) {
  Place(1, 1, 0);  // the file's head is in the fine-tune's pack
  Place(2, 0, 0);
  Place(3, 1, 10 * limits_.max_gap_bytes);
  std::vector<FetchRun> runs = Plan(FileOf({1, 2, 3}));
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(ChunksOf(runs[0]), (std::vector<Digest>{Named(1)}));
  EXPECT_EQ(ChunksOf(runs[1]), (std::vector<Digest>{Named(2)}));
  // A read that starts at the third chunk wants it first, then wraps.
  runs = Plan(FileOf({1, 2, 3}), 2);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(ChunksOf(runs[0]), (std::vector<Digest>{Named(3)}));
  EXPECT_EQ(ChunksOf(runs[1]), (std::vector<Digest>{Named(1)}));
}

TEST_F(FetchPlanTest, APlanCoversAtMostItsByteBound) {
  limits_.max_plan_bytes = 2 * 64 * kKiB;
  for (uint8_t chunk = 1; chunk <= 5; ++chunk) Place(chunk, 0, (chunk - 1) * 64 * kKiB);
  std::vector<FetchRun> runs = Plan(FileOf({1, 2, 3, 4, 5}));
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(ChunksOf(runs[0]), (std::vector<Digest>{Named(1), Named(2)}));
}

}  // namespace
}  // namespace re2po
