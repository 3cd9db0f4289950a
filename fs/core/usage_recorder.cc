#include "fs/core/usage_recorder.h"

#include <time.h>
#include <unistd.h>

#include <climits>
#include <cstdio>

#include "store/base/log.h"

namespace re2po::fs {

void VersionCounters::Touch() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME_COARSE, &now);
  last_access_ns_.store(int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec,
                        std::memory_order_relaxed);
}

UsageRecorder::UsageRecorder(std::filesystem::path store_dir, std::string mount_id)
    : store_dir_(std::move(store_dir)), mount_id_(std::move(mount_id)) {}

std::shared_ptr<VersionCounters> UsageRecorder::Counters(const std::string& model,
                                                         uint64_t version) {
  std::lock_guard lock(mutex_);
  auto& counters = counters_[{model, version}];
  if (!counters) counters = std::make_shared<VersionCounters>();
  return counters;
}

UsageMap UsageRecorder::Snapshot() const {
  UsageMap usage;
  std::lock_guard lock(mutex_);
  for (const auto& [key, counters] : counters_) usage[key] = counters->Load();
  return usage;
}

void UsageRecorder::Flush() {
  if (store_dir_.empty()) return;
  std::lock_guard lock(flush_mutex_);
  UsageMap usage = Snapshot();
  auto same = [](const UsageMap& a, const UsageMap& b) {
    if (a.size() != b.size()) return false;
    for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j) {
      if (i->first != j->first || i->second.opens != j->second.opens ||
          i->second.last_access_ns != j->second.last_access_ns) {
        return false;
      }
    }
    return true;
  };
  if (same(usage, written_)) return;
  Status status = WriteUsage(store_dir_, mount_id_, usage);
  if (status.ok()) {
    written_ = std::move(usage);
    return;
  }
  if (!warned_) {
    Logger("fs")->warn("not recording usage (store not writable?): {}", status.ToString());
    warned_ = true;
  }
}

std::string DefaultMountId() {
  char host[HOST_NAME_MAX + 1] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0' || host[0] == '.') {
    std::snprintf(host, sizeof host, "host");
  }
  std::string id = host;
  for (char& c : id) {
    if (c == '/') c = '_';
  }
  return id + "-" + std::to_string(getpid());
}

}  // namespace re2po::fs
