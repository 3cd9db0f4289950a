#include "fs/prefetcher.h"

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

void Prefetcher::AheadOf(const Recipe& recipe, uint64_t from, uint64_t window) {
  if (threads_.empty() || from >= recipe.size()) return;
  const uint64_t until = from + std::min(window, options_.window_bytes);
  bool queued = false;
  {
    std::lock_guard lock(mutex_);
    for (size_t index = recipe.ExtentAt(from);
         index < recipe.extents.size() && recipe.StartOf(index) < until; ++index) {
      if (queue_.size() >= options_.max_queued) break;
      const Digest& chunk = recipe.extents[index].chunk;
      if (pending_.insert(chunk).second) {
        queue_.push_back(chunk);
        queued = true;
      }
    }
  }
  if (queued) wake_.notify_all();
}

void Prefetcher::Run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    const Digest chunk = queue_.front();
    queue_.pop_front();
    lock.unlock();
    // A cached chunk costs one lookup; a failure is the real read's to report.
    if (store_.ReadChunk(chunk).ok()) fetched_.fetch_add(1, std::memory_order_relaxed);
    lock.lock();
    pending_.erase(chunk);
  }
}

}  // namespace re2po::fs
