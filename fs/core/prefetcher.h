// Reads ahead of readers: chunks a reader will want soon are fetched (read,
// checked, decompressed) into the store's chunk cache on background threads,
// so the FUSE thread that asks for them next finds them there. A cold read
// otherwise pays disk, checksum and decompression for one chunk at a time
// on the requesting thread.
//
// Two kinds of work: the chunks just ahead of a read jump the queue (they
// are wanted next), and whole files are queued behind them in file order
// (frameworks read a model file entirely, in an order of their own).
//
// Best effort: a full queue drops requests, errors are left for the real
// read to report, and the threads stop (after their current chunk) when the
// Prefetcher is destroyed, which must happen before the store goes.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "store/base/digest.h"
#include "store/catalog/records.h"
#include "store/store.h"

namespace re2po::fs {

struct PrefetchOptions {
  size_t threads = 4;  // fetches mostly wait on the disk: more threads than cores
  uint64_t window_bytes = uint64_t{8} << 20;  // read ahead this far past a sequential read
  size_t max_queued = 4096;                   // chunks waiting; more are dropped
};

// What read-ahead did, in chunks: queued (new in the queue), fetched (read
// into the cache, or found there), dropped (not queued, or pushed out of the
// queue, because it was full).
struct PrefetchCounters {
  uint64_t queued = 0;
  uint64_t fetched = 0;
  uint64_t dropped = 0;
};

class Prefetcher {
 public:
  Prefetcher(Store& store, const PrefetchOptions& options);
  ~Prefetcher();
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  // Puts the chunks of `recipe` that hold bytes [from, from + window) at the
  // front of the queue, nearest first; window at most options.window_bytes.
  void AheadOf(const Recipe& recipe, uint64_t from, uint64_t window);
  // Queues every chunk of `recipe` at the back, those from byte `from` on first.
  void WholeFile(const Recipe& recipe, uint64_t from);
  // Chunks fetched so far (for tests).
  uint64_t fetched() const { return fetched_.load(std::memory_order_relaxed); }
  PrefetchCounters counters() const {
    return {queued_count_.load(std::memory_order_relaxed), fetched(),
            dropped_.load(std::memory_order_relaxed)};
  }

 private:
  void Run();
  // Queues extents [first, last) at the back unless pending, counting the
  // new ones in `added`; false when full.
  bool QueueBackLocked(const Recipe& recipe, size_t first, size_t last, size_t& added);
  // Moves or adds one chunk to the front unless it is being fetched; true
  // when it was not queued before.
  bool QueueFrontLocked(const Digest& chunk);
  void WakeFor(size_t added);

  Store& store_;
  const PrefetchOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::list<Digest> queue_;  // front: fetched next
  std::unordered_map<Digest, std::list<Digest>::iterator, DigestHash> queued_;
  std::unordered_set<Digest, DigestHash> fetching_;
  bool stopping_ = false;
  std::atomic<uint64_t> fetched_{0};
  std::atomic<uint64_t> queued_count_{0};
  std::atomic<uint64_t> dropped_{0};
  std::vector<std::thread> threads_;
};

}  // namespace re2po::fs
