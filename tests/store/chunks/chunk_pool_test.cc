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

TEST(ChunkBufferPoolTest, OddAndHugeSizesAreExact) {
  ChunkBufferPool& pool = ChunkBufferPool::Instance();
  for (size_t size : {size_t{0}, size_t{1}, size_t{4097}, size_t{300} << 10, size_t{200} << 20}) {
    auto buffer = pool.Take(size);
    EXPECT_EQ(buffer->size(), size);
  }
}

}  // namespace
}  // namespace re2po
