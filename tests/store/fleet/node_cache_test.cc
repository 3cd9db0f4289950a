// The node cache on its own (no remote): it keeps to its bound, least
// recently used first, and remembers the bound a mount gave it for the
// processes that open it without one.
#include "store/fleet/node_cache.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/testutil/status_testutil.h"

namespace re2po {
namespace {

constexpr uint64_t kCacheKiB = 1024;

Result<std::unique_ptr<NodeCache>> OpenCache(const std::filesystem::path& dir,
                                             std::optional<uint64_t> bound) {
  NodeCacheOptions options;
  options.dir = dir;
  options.max_bytes = bound;
  return NodeCache::Open(options);
}

TEST(NodeCacheTest, AnOpenerWithoutABoundKeepsTheLastOneGiven) {
  testing::TempDir tmp;
  {
    ASSERT_OK_AND_ASSIGN(auto fresh, OpenCache(tmp.path() / "fresh", std::nullopt));
    EXPECT_EQ(fresh->max_bytes(), kDefaultNodeCacheBytes);
  }
  {
    ASSERT_OK_AND_ASSIGN(auto mounted, OpenCache(tmp.path() / "node", 300 * kCacheKiB));
    EXPECT_EQ(mounted->max_bytes(), 300 * kCacheKiB);
  }
  ASSERT_OK_AND_ASSIGN(auto pulling, OpenCache(tmp.path() / "node", std::nullopt));
  EXPECT_EQ(pulling->max_bytes(), 300 * kCacheKiB);
  // So a pull without a mount cannot fill the cache past the mount's bound.
  for (uint8_t i = 0; i < 5; ++i) {
    ASSERT_OK(pulling->Put({{testing::FilledDigest(i), std::string(100 * kCacheKiB, 'x')}}));
  }
  EXPECT_LE(pulling->Stats().bytes, 300 * kCacheKiB);
  EXPECT_FALSE(pulling->Contains(testing::FilledDigest(0))) << "the oldest was not evicted";
  EXPECT_TRUE(pulling->Contains(testing::FilledDigest(4)));
}

TEST(NodeCacheTest, ASecondOpenerIsToldTheNodeCacheIsInUse) {
  testing::TempDir tmp;
  ASSERT_OK_AND_ASSIGN(auto first, OpenCache(tmp.path(), std::nullopt));
  Result<std::unique_ptr<NodeCache>> second = OpenCache(tmp.path(), std::nullopt);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kBusy);
  const std::string message = second.status().message();
  EXPECT_NE(message.find("the node cache " + tmp.path().string() + " is in use"), std::string::npos)
      << message;
  EXPECT_NE(message.find("pid " + std::to_string(::getpid())), std::string::npos) << message;
  EXPECT_EQ(message.find("store"), std::string::npos) << message;
}

}  // namespace
}  // namespace re2po
