#include "fs/core/refresher.h"

#include <pthread.h>
#include <signal.h>

#include "store/base/log.h"

namespace re2po::fs {

Refresher::Refresher(MountedRepository& repo, KernelNotifier* notifier, RefresherOptions options)
    : repo_(repo), notifier_(notifier), options_(options) {}

Refresher::~Refresher() { Stop(); }

void Refresher::Start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Run(); });
}

void Refresher::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  repo_.FlushUsage();
}

void Refresher::RefreshOnce() {
  Result<std::vector<Invalidation>> changes = repo_.Refresh();
  if (!changes.ok()) {
    if (changes.status().ToString() != last_error_) {
      last_error_ = changes.status().ToString();
      Logger("fs")->warn("refreshing the catalog failed (will retry): {}", last_error_);
    }
    return;
  }
  if (!last_error_.empty()) {
    Logger("fs")->info("refreshing the catalog works again");
    last_error_.clear();
  }
  if (!changes->empty()) {
    Logger("fs")->debug("catalog changed: {} invalidations", changes->size());
  }
  if (notifier_ == nullptr) return;
  for (const Invalidation& invalidation : *changes) notifier_->Invalidate(invalidation);
}

void Refresher::Run() {
  // Termination signals belong to the FUSE loop's threads (see mount.cc).
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto next_flush = std::chrono::steady_clock::now() + options_.flush_every;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.refresh_every, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    try {
      RefreshOnce();
      if (std::chrono::steady_clock::now() >= next_flush) {
        repo_.FlushUsage();
        next_flush = std::chrono::steady_clock::now() + options_.flush_every;
      }
    } catch (const std::exception& e) {  // e.g. bad_alloc: try again next time
      Logger("fs")->error("refresher: {}", e.what());
    }
    lock.lock();
  }
}

}  // namespace re2po::fs
