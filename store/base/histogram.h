// A fixed-bucket histogram that threads observe into without a lock: one
// relaxed increment of the bucket and one of the sum. A reader (a metrics
// scrape) takes a snapshot at any time; it may miss observations made while
// it reads, never blocks them, and is always self-consistent (its count is
// the sum of its buckets). Values are integers in the unit of the bounds
// (latencies in nanoseconds); the exposition converts to base units.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace re2po {

struct HistogramSnapshot {
  std::vector<uint64_t> bounds;      // upper bounds (inclusive), ascending
  std::vector<uint64_t> cumulative;  // observations <= bounds[i]; one more entry: +Inf
  uint64_t sum = 0;
  uint64_t count() const { return cumulative.empty() ? 0 : cumulative.back(); }
};

class Histogram {
 public:
  explicit Histogram(std::vector<uint64_t> bounds)
      : bounds_(std::move(bounds)),
        buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
    std::sort(bounds_.begin(), bounds_.end());
  }
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void Observe(uint64_t value) {
    const size_t bucket = static_cast<size_t>(
        std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
    buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
  }

  HistogramSnapshot Snapshot() const {
    HistogramSnapshot snapshot;
    snapshot.bounds = bounds_;
    snapshot.cumulative.reserve(bounds_.size() + 1);
    uint64_t running = 0;
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      running += buckets_[i].load(std::memory_order_relaxed);
      snapshot.cumulative.push_back(running);
    }
    snapshot.sum = sum_.load(std::memory_order_relaxed);
    return snapshot;
  }

 private:
  std::vector<uint64_t> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // the last one: above every bound
  std::atomic<uint64_t> sum_{0};
};

// Bounds for latencies in nanoseconds, 50 us to 10 s: a chunk served from
// memory lands in the first buckets, a cold disk read in the middle, a
// remote fetch or a stall at the top.
inline std::vector<uint64_t> LatencyBoundsNs() {
  return {50'000,      100'000,      250'000,      500'000,      1'000'000,    2'500'000,
          5'000'000,   10'000'000,   25'000'000,   50'000'000,   100'000'000,  250'000'000,
          500'000'000, 1000'000'000, 2500'000'000, 5000'000'000, 10000'000'000};
}

}  // namespace re2po
