// Per-version usage counted by the mount: opens and the last access. Opening a
// file takes the recorder's mutex once to find the version's counters; reads
// only store to an atomic. Flush (from the refresher thread, every ~10 s and
// at unmount) writes <store>/usage/<mount_id>.json through store/usage.h.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "store/usage.h"

namespace re2po::fs {

class VersionCounters {
 public:
  void Opened() {
    opens_.fetch_add(1, std::memory_order_relaxed);
    Touch();
  }
  void Touch();  // a coarse clock read and a relaxed store
  VersionUsage Load() const {
    return {opens_.load(std::memory_order_relaxed),
            last_access_ns_.load(std::memory_order_relaxed)};
  }

 private:
  std::atomic<uint64_t> opens_{0};
  std::atomic<int64_t> last_access_ns_{0};
};

class UsageRecorder {
 public:
  // An empty store_dir disables writing (tests of the core without a store).
  UsageRecorder(std::filesystem::path store_dir, std::string mount_id);

  std::shared_ptr<VersionCounters> Counters(const std::string& model, uint64_t version);
  UsageMap Snapshot() const;
  // Writes the usage file if anything changed since the last flush. A store
  // that cannot be written (read-only) is warned about once, then skipped.
  void Flush();

  const std::string& mount_id() const { return mount_id_; }

 private:
  const std::filesystem::path store_dir_;
  const std::string mount_id_;
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, uint64_t>, std::shared_ptr<VersionCounters>> counters_;
  std::mutex flush_mutex_;
  UsageMap written_;
  bool warned_ = false;
};

// "<hostname>-<pid>": unique among the mounts sharing a store.
std::string DefaultMountId();

}  // namespace re2po::fs
