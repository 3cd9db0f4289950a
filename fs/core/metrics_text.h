// The mount's metrics in the Prometheus text format (version 0.0.4), and
// the same text parsed back (for `re2po top` and the tests). The names and
// what they mean are listed in docs/operations.md, "Metrics".
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fs/core/metrics.h"
#include "fs/core/prefetcher.h"
#include "store/store.h"

namespace re2po::fs {

// One scrape's worth of numbers, gathered without locks.
struct MetricsSample {
  std::array<uint64_t, kFuseOpCount> requests{};
  std::array<uint64_t, kFuseOpCount> bytes{};
  std::array<uint64_t, kEioCauseCount> eio{};
  HistogramSnapshot read_ns;
  std::vector<std::pair<std::string, uint64_t>> model_opens;
  std::string store_kind;  // "local" or "remote"
  StoreCounters store;
  PrefetchCounters readahead;
  uint64_t catalog_generation = 0;
  double catalog_age_seconds = 0;  // since the last successful refresh
  uint64_t refresh_failures = 0;
  bool access_log = false;
  uint64_t access_records = 0;
  uint64_t access_lost = 0;
};

std::string MetricsText(const MetricsSample& sample);

// A scrape parsed back: every sample line's value, by name and labels.
class ScrapedMetrics {
 public:
  using Labels = std::map<std::string, std::string>;
  // Comment and malformed lines are skipped.
  static ScrapedMetrics Parse(std::string_view text);

  // The value of the series with exactly these labels; 0 when absent.
  double Value(std::string_view name, const Labels& labels = {}) const;
  // The sum over every series of the name (e.g. all operations).
  double Sum(std::string_view name) const;
  // Every series of the name with its labels.
  std::vector<std::pair<Labels, double>> Series(std::string_view name) const;
  bool Has(std::string_view name) const;

 private:
  std::multimap<std::string, std::pair<Labels, double>, std::less<>> samples_;
};

}  // namespace re2po::fs
