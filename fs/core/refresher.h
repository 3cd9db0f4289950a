// The mount's background thread: every ~500 ms it catches the repository up
// with the store and tells the kernel what to forget; every ~10 s (and when
// stopped) it flushes usage. It is the only thread that sends the kernel
// invalidations, never from inside a FUSE callback.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "fs/core/mounted_repo.h"

namespace re2po::fs {

// Delivers invalidations to the kernel (fuse_lowlevel_notify_inval_*).
class KernelNotifier {
 public:
  virtual ~KernelNotifier() = default;
  virtual void Invalidate(const Invalidation& invalidation) = 0;
};

struct RefresherOptions {
  std::chrono::milliseconds refresh_every{500};
  std::chrono::milliseconds flush_every{10'000};
};

class Refresher {
 public:
  // `notifier` may be null (no kernel to tell, e.g. in tests of the core).
  Refresher(MountedRepository& repo, KernelNotifier* notifier, RefresherOptions options);
  ~Refresher();
  Refresher(const Refresher&) = delete;
  Refresher& operator=(const Refresher&) = delete;

  void Start();
  // Stops the thread, then flushes usage one last time. Idempotent.
  void Stop();
  // One refresh, as the thread does it (for tests).
  void RefreshOnce();

 private:
  void Run();

  MountedRepository& repo_;
  KernelNotifier* const notifier_;
  const RefresherOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
  std::string last_error_;  // refresh errors are logged when they change
};

}  // namespace re2po::fs
