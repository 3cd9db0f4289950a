// ChunkBufferPool: buffers come back and are handed out again, sizes are
// exact, and the pool keeps no more than it was told to.
#include "store/chunks/chunk_pool.h"

#include <gtest/gtest.h>

namespace re2po {
namespace {

TEST(ChunkBufferPoolTest, AReleasedBufferIsReusedForTheSameSizeClass) {
  ChunkBufferPool& pool = ChunkBufferPool::Instance();
  const uint8_t* first = nullptr;
  {
    auto buffer = pool.Take(1 << 20);
    ASSERT_EQ(buffer->size(), size_t{1} << 20);
    (*buffer)[0] = 42;
    first = buffer->data();
  }
  auto again = pool.Take((1 << 20) - 100);  // same class: 1 MiB
  EXPECT_EQ(again->size(), size_t{(1 << 20) - 100});
  EXPECT_EQ(again->data(), first) << "the released buffer was not reused";
}

TEST(ChunkBufferPoolTest, WarmFillsThePoolAndTakingEmptiesIt) {
  ChunkBufferPool& pool = ChunkBufferPool::Instance();
  pool.Warm(size_t{8} << 20, size_t{1} << 20);
  EXPECT_GE(pool.free_bytes(), size_t{8} << 20);
  std::vector<std::shared_ptr<std::vector<uint8_t>>> held;
  const size_t before = pool.free_bytes();
  for (int i = 0; i < 4; ++i) held.push_back(pool.Take(1 << 20));
  EXPECT_EQ(pool.free_bytes(), before - (size_t{4} << 20));
  held.clear();
  EXPECT_EQ(pool.free_bytes(), before);
}

TEST(ChunkBufferPoolTest, SmallChunksAreNotPooled) {
  ChunkBufferPool& pool = ChunkBufferPool::Instance();
  pool.Warm(size_t{8} << 20, 0);
  const size_t before = pool.free_bytes();
  {
    auto buffer = pool.Take(300);
    EXPECT_EQ(buffer->size(), 300u);
    EXPECT_LT(buffer->capacity(), size_t{64} << 10) << "a 64 KiB buffer for 300 bytes";
    EXPECT_EQ(pool.free_bytes(), before);
  }
  EXPECT_EQ(pool.free_bytes(), before);
}

// Free buffers of a larger class are used before fresh memory is: a page
// fault per 4 KiB costs more than the cache room.
TEST(ChunkBufferPoolTest, ATakeFallsBackToALargerFreeBufferBeforeFreshMemory) {
  ChunkBufferPool& pool = ChunkBufferPool::Instance();
  pool.Warm(size_t{64} << 20, 0);
  std::vector<std::shared_ptr<std::vector<uint8_t>>> held;
  bool larger = false;
  for (int i = 0; i < 10000 && !larger; ++i) {
    const size_t free_before = pool.free_bytes();
    held.push_back(pool.Take(size_t{200} << 10));
    ASSERT_LT(pool.free_bytes(), free_before) << "fresh memory while larger buffers were free";
    EXPECT_EQ(held.back()->size(), size_t{200} << 10);
    larger = held.back()->capacity() > (size_t{256} << 10);
  }
  EXPECT_TRUE(larger);
  EXPECT_LE(held.back()->capacity(), size_t{1} << 20) << "at most four times the class";
}

TEST(ChunkBufferPoolTest, OddAndHugeSizesAreExact) {
  ChunkBufferPool& pool = ChunkBufferPool::Instance();
  for (size_t size : {size_t{0}, size_t{1}, size_t{4097}, size_t{300} << 10, size_t{200} << 20}) {
    auto buffer = pool.Take(size);
    EXPECT_EQ(buffer->size(), size);
  }
}

}  // namespace
}  // namespace re2po
