#include "store/chunks/chunk_pool.h"

#include <cstring>

namespace re2po {

ChunkBufferPool& ChunkBufferPool::Instance() {
  static ChunkBufferPool* pool = new ChunkBufferPool;  // leaked on purpose: see the header
  return *pool;
}

std::shared_ptr<std::vector<uint8_t>> ChunkBufferPool::Take(size_t size) {
  const size_t capacity = ClassOf(size);
  std::unique_ptr<std::vector<uint8_t>> buffer;
  if (capacity <= (kMinClass << (kClasses - 1))) {
    std::lock_guard lock(mutex_);
    auto& list = free_[IndexOf(capacity)];
    if (!list.empty()) {
      buffer = std::move(list.back());
      list.pop_back();
      free_bytes_ -= capacity;
    }
  }
  if (!buffer) {
    buffer = std::make_unique<std::vector<uint8_t>>();
    // Beyond the largest class a buffer is not pooled: no room to spare.
    buffer->reserve(capacity <= (kMinClass << (kClasses - 1)) ? capacity : size);
  }
  buffer->resize(size);  // within the capacity: no new allocation
  return std::shared_ptr<std::vector<uint8_t>>(buffer.release(),
                                               [this](std::vector<uint8_t>* b) { Give(b); });
}

void ChunkBufferPool::Give(std::vector<uint8_t>* buffer) {
  std::unique_ptr<std::vector<uint8_t>> owned(buffer);
  const size_t capacity = owned->capacity();
  if (capacity < kMinClass || !std::has_single_bit(capacity) ||
      capacity > (kMinClass << (kClasses - 1))) {
    return;
  }
  std::lock_guard lock(mutex_);
  if (free_bytes_ + capacity > keep_bytes_) return;
  free_[IndexOf(capacity)].push_back(std::move(owned));
  free_bytes_ += capacity;
}

void ChunkBufferPool::Warm(size_t bytes, size_t heap_slack) {
  constexpr size_t kPiece = size_t{1} << 20;  // tensors are cut into 1 MiB pieces
  {
    std::lock_guard lock(mutex_);
    keep_bytes_ = std::max(keep_bytes_, bytes);
  }
  for (size_t added = 0; added + kPiece <= bytes && free_bytes() + kPiece <= bytes;
       added += kPiece) {
    auto buffer = std::make_unique<std::vector<uint8_t>>(kPiece);  // zeroed: touched
    std::lock_guard lock(mutex_);
    free_[IndexOf(kPiece)].push_back(std::move(buffer));
    free_bytes_ += kPiece;
  }
  std::vector<std::unique_ptr<std::vector<uint8_t>>> slack;
  for (size_t added = 0; added < heap_slack; added += kPiece) {
    slack.push_back(std::make_unique<std::vector<uint8_t>>(kPiece));
  }
}

size_t ChunkBufferPool::free_bytes() const {
  std::lock_guard lock(mutex_);
  return free_bytes_;
}

}  // namespace re2po
