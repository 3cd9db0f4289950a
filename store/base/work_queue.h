// Background work on a fixed set of threads, first in first out. Tasks
// still queued when the queue is destroyed are dropped unrun (whatever they
// own is released, so a promise they hold breaks and its waiters wake);
// running ones finish first.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace re2po {

class WorkQueue {
 public:
  explicit WorkQueue(size_t threads);
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void Post(std::function<void()> task);

 private:
  void Run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;  // last: joined before the rest goes
};

}  // namespace re2po
