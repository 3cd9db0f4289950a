// The decompressed chunk cache: the byte bound holds under any insert
// pattern, eviction is least-recently-used, and concurrent use is safe and
// returns the right bytes (this test is meant to run under TSan too).
#include "store/chunks/chunk_cache.h"

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "tests/testutil/status_testutil.h"

namespace re2po {
namespace {

class ChunkCacheTest : public ::testing::Test {
 protected:
  // A chunk whose name is the hash of its bytes, like the store's.
  struct Chunk {
    Digest digest;
    ChunkBytes bytes;
  };
  static Chunk MakeChunk(size_t size, uint64_t seed) {
    auto bytes = std::make_shared<const std::vector<uint8_t>>(testing::RandomBytes(size, seed));
    return {Sha256Of(std::span<const uint8_t>(*bytes)), bytes};
  }
};

TEST_F(ChunkCacheTest, LookupOfAnAbsentChunkIsNull) {
  ChunkCache cache(1 << 20, 4);
  EXPECT_EQ(cache.Lookup(MakeChunk(10, 1).digest), nullptr);
  EXPECT_EQ(cache.charged_bytes(), 0u);
}

TEST_F(ChunkCacheTest, InsertThenLookupReturnsTheSameBytes) {
  ChunkCache cache(1 << 20, 4);
  Chunk chunk = MakeChunk(1000, 2);
  cache.Insert(chunk.digest, chunk.bytes);
  ChunkBytes found = cache.Lookup(chunk.digest);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found.get(), chunk.bytes.get());  // shared, not copied
  EXPECT_EQ(cache.charged_bytes(), 1000u);
}

TEST_F(ChunkCacheTest, DuplicateInsertIsChargedOnce) {
  ChunkCache cache(1 << 20, 1);
  Chunk chunk = MakeChunk(500, 3);
  cache.Insert(chunk.digest, chunk.bytes);
  cache.Insert(chunk.digest, chunk.bytes);
  EXPECT_EQ(cache.charged_bytes(), 500u);
}

TEST_F(ChunkCacheTest, ChunkLargerThanAShardIsNotCached) {
  ChunkCache cache(4000, 4);  // 1000 bytes a shard
  Chunk big = MakeChunk(1001, 4);
  cache.Insert(big.digest, big.bytes);
  EXPECT_EQ(cache.Lookup(big.digest), nullptr);
  EXPECT_EQ(cache.charged_bytes(), 0u);
}

TEST_F(ChunkCacheTest, ZeroCapacityCachesNothing) {
  ChunkCache cache(0, 16);
  Chunk chunk = MakeChunk(1, 5);
  cache.Insert(chunk.digest, chunk.bytes);
  EXPECT_EQ(cache.Lookup(chunk.digest), nullptr);
  EXPECT_EQ(cache.charged_bytes(), 0u);
}

TEST_F(ChunkCacheTest, EvictsTheLeastRecentlyUsed) {
  ChunkCache cache(300, 1);
  Chunk a = MakeChunk(100, 10), b = MakeChunk(100, 11), c = MakeChunk(100, 12),
        d = MakeChunk(100, 13);
  cache.Insert(a.digest, a.bytes);
  cache.Insert(b.digest, b.bytes);
  cache.Insert(c.digest, c.bytes);
  ASSERT_NE(cache.Lookup(a.digest), nullptr);  // a is now the most recent; b the oldest
  cache.Insert(d.digest, d.bytes);
  EXPECT_EQ(cache.Lookup(b.digest), nullptr);
  EXPECT_NE(cache.Lookup(a.digest), nullptr);
  EXPECT_NE(cache.Lookup(c.digest), nullptr);
  EXPECT_NE(cache.Lookup(d.digest), nullptr);
  EXPECT_EQ(cache.charged_bytes(), 300u);
  // Order is now a, c, d (oldest first): a big insert evicts a and c.
  Chunk e = MakeChunk(200, 14);
  cache.Insert(e.digest, e.bytes);
  EXPECT_EQ(cache.Lookup(a.digest), nullptr);
  EXPECT_EQ(cache.Lookup(c.digest), nullptr);
  EXPECT_NE(cache.Lookup(d.digest), nullptr);
  EXPECT_NE(cache.Lookup(e.digest), nullptr);
}

TEST_F(ChunkCacheTest, ByteBoundHoldsUnderRandomInserts) {
  const size_t capacity = 64 * 1024;
  for (size_t shards : {size_t{1}, size_t{3}, size_t{16}}) {
    ChunkCache cache(capacity, shards);
    std::mt19937_64 rng(shards);
    std::vector<Chunk> inserted;
    for (int i = 0; i < 2000; ++i) {
      Chunk chunk = MakeChunk(1 + rng() % 6000, rng());
      cache.Insert(chunk.digest, chunk.bytes);
      ASSERT_LE(cache.charged_bytes(), capacity) << "after insert " << i;
      if (i % 7 == 0 && !inserted.empty()) {
        (void)cache.Lookup(inserted[rng() % inserted.size()].digest);
      }
      inserted.push_back(std::move(chunk));
    }
    // The charge is exactly the bytes of what can still be found.
    size_t present = 0;
    for (const Chunk& chunk : inserted) {
      if (ChunkBytes found = cache.Lookup(chunk.digest)) {
        EXPECT_EQ(*found, *chunk.bytes);
        present += found->size();
      }
    }
    EXPECT_EQ(present, cache.charged_bytes());
    EXPECT_GT(present, 0u);
  }
}

TEST_F(ChunkCacheTest, ConcurrentLookupAndInsertFromEightThreads) {
  const size_t capacity = 256 * 1024;
  ChunkCache cache(capacity, 4);
  std::vector<Chunk> chunks;
  for (int i = 0; i < 200; ++i) chunks.push_back(MakeChunk(1 + (i * 997) % 8000, 1000 + i));
  std::atomic<int> wrong{0};
  std::atomic<int> hits{0};
  std::atomic<bool> over_bound{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      for (int i = 0; i < static_cast<int>(testing::Scaled(20000, 5000)); ++i) {
        const Chunk& chunk = chunks[rng() % chunks.size()];
        if (ChunkBytes found = cache.Lookup(chunk.digest)) {
          ++hits;
          if (found.get() != chunk.bytes.get()) ++wrong;  // only chunk.bytes is stored
        } else {
          cache.Insert(chunk.digest, chunk.bytes);
        }
        if (i % 512 == 0 && cache.charged_bytes() > capacity) over_bound = true;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(hits.load(), 0);
  EXPECT_FALSE(over_bound.load());
  EXPECT_LE(cache.charged_bytes(), capacity);
}

}  // namespace
}  // namespace re2po
