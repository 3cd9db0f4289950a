// Reads ahead of sequential readers: the chunks just past a sequential read
// are fetched (read, checked, decompressed) into the store's chunk cache on
// background threads, so the FUSE thread that asks for them next finds them
// there. Cold sequential reads otherwise pay disk, SHA-256 and zstd for one
// chunk at a time on the requesting thread.
//
// Best effort: a full queue drops requests, errors are left for the real
// read to report, and the threads stop (after their current chunk) when the
// Prefetcher is destroyed, which must happen before the store goes.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "store/digest.h"
#include "store/records.h"
#include "store/store.h"

namespace re2po::fs {

struct PrefetchOptions {
  size_t threads = 2;
  uint64_t window_bytes = uint64_t{8} << 20;  // read ahead this far past a sequential read
  size_t max_queued = 256;                    // chunks waiting; more are dropped
};

class Prefetcher {
 public:
  Prefetcher(Store& store, const PrefetchOptions& options);
  ~Prefetcher();
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  // Queues the chunks of `recipe` that hold bytes [from, from + window),
  // window at most options.window_bytes.
  void AheadOf(const Recipe& recipe, uint64_t from, uint64_t window);
  // Chunks fetched so far (for tests).
  uint64_t fetched() const { return fetched_.load(std::memory_order_relaxed); }

 private:
  void Run();

  Store& store_;
  const PrefetchOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Digest> queue_;
  std::unordered_set<Digest, DigestHash> pending_;  // queued or being fetched
  bool stopping_ = false;
  std::atomic<uint64_t> fetched_{0};
  std::vector<std::thread> threads_;
};

}  // namespace re2po::fs
