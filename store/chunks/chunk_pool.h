// Buffers for decoded chunks, kept for reuse. Fresh memory costs a page
// fault per 4 KiB, which was a third of the mount daemon's CPU on a cold
// model load; buffers the chunk cache lets go come back here, and the
// daemon fills the pool with touched buffers when it starts.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace re2po {

class ChunkBufferPool {
 public:
  // The process's pool; never destroyed, so buffers may outlive main.
  static ChunkBufferPool& Instance();

  // A buffer of exactly `size` bytes (contents unspecified) that returns
  // to the pool when its last owner lets go.
  std::shared_ptr<std::vector<uint8_t>> Take(size_t size);
  // Adds touched buffers until about `bytes` are free (three quarters of
  // them of the tensor-piece size, the rest of the smaller classes), and
  // keeps up to that much free from then on. Also leaves `heap_slack`
  // touched bytes free in the malloc heap, for the buffers RocksDB takes
  // and frees on every read (with the heap kept, store/base/allocator_tuning.h).
  void Warm(size_t bytes, size_t heap_slack);
  size_t free_bytes() const;

 private:
  static constexpr size_t kSmallChunk = size_t{16} << 10;  // smaller: not pooled
  static constexpr size_t kMinClass = size_t{64} << 10;
  static constexpr int kClasses = 12;  // 64 KiB .. 128 MiB
  static constexpr size_t kMaxClass = kMinClass << (kClasses - 1);
  static constexpr size_t kPiece = size_t{1} << 20;  // tensors are cut into pieces of this size
  static constexpr int kSmallerClasses = 4;          // 64 KiB .. 512 KiB
  static constexpr int kLargerClassesTaken = 2;      // up to four times the class asked
  static size_t ClassOf(size_t size) { return std::bit_ceil(std::max(size, kMinClass)); }
  static int IndexOf(size_t capacity) { return std::countr_zero(capacity / kMinClass); }
  void Give(std::vector<uint8_t>* buffer);
  std::unique_ptr<std::vector<uint8_t>> TakeFree(int index);
  // Adds touched buffers of `capacity` until `bytes` are added or the pool is full.
  void AddTouched(size_t capacity, size_t bytes);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<std::vector<uint8_t>>> free_[kClasses];
  size_t free_bytes_ = 0;
  size_t keep_bytes_ = size_t{32} << 20;
};

}  // namespace re2po
