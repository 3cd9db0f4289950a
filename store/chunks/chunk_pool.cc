#include "store/chunks/chunk_pool.h"

#include <cstring>

namespace re2po {

ChunkBufferPool& ChunkBufferPool::Instance() {
  static ChunkBufferPool* pool = new ChunkBufferPool;  // leaked on purpose: see the header
  return *pool;
}

std::shared_ptr<std::vector<uint8_t>> ChunkBufferPool::Take(size_t size) {
  // Small chunks (norms, biases) come from malloc's own bins, already
  // touched; a pooled buffer would reserve 64 KiB for a few hundred bytes.
  if (size < kSmallChunk) return std::make_shared<std::vector<uint8_t>>(size);
  const size_t capacity = ClassOf(size);
  std::unique_ptr<std::vector<uint8_t>> buffer =
      capacity <= kMaxClass ? TakeFree(IndexOf(capacity)) : nullptr;
  if (!buffer) {
    buffer = std::make_unique<std::vector<uint8_t>>();
    // Beyond the largest class a buffer is not pooled: no room to spare.
    buffer->reserve(capacity <= kMaxClass ? capacity : size);
  }
  buffer->resize(size);  // within the capacity: no new allocation
  return std::shared_ptr<std::vector<uint8_t>>(buffer.release(),
                                               [this](std::vector<uint8_t>* b) { Give(b); });
}

// A free buffer of the class, else of the next two larger ones: a touched
// buffer up to four times too large costs cache room (the cache charges
// capacity), fresh memory a page fault per 4 KiB (10 µs each on a
// microVM). Further up, the cache would hold too little.
std::unique_ptr<std::vector<uint8_t>> ChunkBufferPool::TakeFree(int index) {
  std::lock_guard lock(mutex_);
  for (int larger = index; larger <= std::min(index + kLargerClassesTaken, kClasses - 1);
       ++larger) {
    auto& list = free_[larger];
    if (list.empty()) continue;
    std::unique_ptr<std::vector<uint8_t>> buffer = std::move(list.back());
    list.pop_back();
    free_bytes_ -= buffer->capacity();
    return buffer;
  }
  return nullptr;
}

void ChunkBufferPool::Give(std::vector<uint8_t>* buffer) {
  std::unique_ptr<std::vector<uint8_t>> owned(buffer);
  const size_t capacity = owned->capacity();
  if (capacity < kMinClass || !std::has_single_bit(capacity) || capacity > kMaxClass) {
    return;
  }
  std::lock_guard lock(mutex_);
  if (free_bytes_ + capacity > keep_bytes_) return;
  free_[IndexOf(capacity)].push_back(std::move(owned));
  free_bytes_ += capacity;
}

void ChunkBufferPool::Warm(size_t bytes, size_t heap_slack) {
  {
    std::lock_guard lock(mutex_);
    keep_bytes_ = std::max(keep_bytes_, bytes);
  }
  // Mostly tensor pieces; a quarter spread over the smaller classes that
  // small tensors and the tails of large ones take.
  AddTouched(kPiece, bytes / 4 * 3);
  for (size_t capacity = kMinClass; capacity < kPiece; capacity <<= 1) {
    AddTouched(capacity, bytes / 4 / kSmallerClasses);
  }
  std::vector<std::unique_ptr<std::vector<uint8_t>>> slack;
  for (size_t added = 0; added < heap_slack; added += kPiece) {
    slack.push_back(std::make_unique<std::vector<uint8_t>>(kPiece));
  }
}

void ChunkBufferPool::AddTouched(size_t capacity, size_t bytes) {
  for (size_t added = 0; added + capacity <= bytes; added += capacity) {
    auto buffer = std::make_unique<std::vector<uint8_t>>(capacity);  // zeroed: touched
    std::lock_guard lock(mutex_);
    if (free_bytes_ + capacity > keep_bytes_) return;
    free_[IndexOf(capacity)].push_back(std::move(buffer));
    free_bytes_ += capacity;
  }
}

size_t ChunkBufferPool::free_bytes() const {
  std::lock_guard lock(mutex_);
  return free_bytes_;
}

}  // namespace re2po
