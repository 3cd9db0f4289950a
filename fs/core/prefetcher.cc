#include "fs/core/prefetcher.h"

#include <algorithm>

namespace re2po::fs {

Prefetcher::Prefetcher(Store& store, const PrefetchOptions& options)
    : store_(store), options_(options) {
  for (size_t i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { Run(); });
}

Prefetcher::~Prefetcher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

bool Prefetcher::QueueBackLocked(const Recipe& recipe, size_t first, size_t last, size_t& added) {
  for (size_t index = first; index < last; ++index) {
    if (queue_.size() >= options_.max_queued) {
      dropped_.fetch_add(last - index, std::memory_order_relaxed);
      return false;
    }
    const Digest& chunk = recipe.extents[index].chunk;
    if (queued_.contains(chunk) || fetching_.contains(chunk)) continue;
    queued_.emplace(chunk, queue_.insert(queue_.end(), chunk));
    queued_count_.fetch_add(1, std::memory_order_relaxed);
    ++added;
  }
  return true;
}

bool Prefetcher::QueueFrontLocked(const Digest& chunk) {
  if (fetching_.contains(chunk)) return false;
  if (auto it = queued_.find(chunk); it != queued_.end()) {
    queue_.splice(queue_.begin(), queue_, it->second);
    return false;
  }
  if (queue_.size() >= options_.max_queued) {
    queued_.erase(queue_.back());  // the least wanted makes room
    queue_.pop_back();
    dropped_.fetch_add(1, std::memory_order_relaxed);
  }
  queued_.emplace(chunk, queue_.insert(queue_.begin(), chunk));
  queued_count_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

// Every read asks for read-ahead, and most find it queued already; waking
// all threads each time cost a fifth of a cold read's CPU in futex calls
// and context switches on a VM.
void Prefetcher::WakeFor(size_t added) {
  if (added == 1) {
    wake_.notify_one();
  } else if (added > 1) {
    wake_.notify_all();
  }
}

void Prefetcher::AheadOf(const Recipe& recipe, uint64_t from, uint64_t window) {
  if (threads_.empty() || from >= recipe.size()) return;
  const uint64_t until = from + std::min(window, options_.window_bytes);
  const size_t first = recipe.ExtentAt(from);
  size_t last = first;
  while (last < recipe.extents.size() && recipe.StartOf(last) < until) ++last;
  size_t added = 0;
  {
    std::lock_guard lock(mutex_);
    for (size_t index = last; index-- > first;)
      added += QueueFrontLocked(recipe.extents[index].chunk);
  }
  WakeFor(added);
}

void Prefetcher::WholeFile(const Recipe& recipe, uint64_t from) {
  if (threads_.empty() || recipe.extents.empty()) return;
  const size_t start = from < recipe.size() ? recipe.ExtentAt(from) : 0;
  size_t added = 0;
  {
    std::lock_guard lock(mutex_);
    if (QueueBackLocked(recipe, start, recipe.extents.size(), added)) {
      QueueBackLocked(recipe, 0, start, added);
    } else {
      dropped_.fetch_add(start, std::memory_order_relaxed);
    }
  }
  WakeFor(added);
}

void Prefetcher::Run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    const Digest chunk = queue_.front();
    queue_.pop_front();
    queued_.erase(chunk);
    fetching_.insert(chunk);
    lock.unlock();
    // A cached chunk costs one lookup; a failure is the real read's to report.
    if (store_.ReadChunk(chunk).ok()) fetched_.fetch_add(1, std::memory_order_relaxed);
    lock.lock();
    fetching_.erase(chunk);
  }
}

}  // namespace re2po::fs
