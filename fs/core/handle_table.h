// Owns what open() and opendir() hand to the kernel as file handles.
//
// The kernel sends RELEASE asynchronously, so a daemon told to stop (SIGTERM,
// umount) can end its loop with handles still open. Keeping them here, not
// only behind raw fh numbers, frees them with the mount instead of leaking
// them. The read path never looks a handle up: fh is the object's address.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace re2po::fs {

template <typename T>
class HandleTable {
 public:
  // Takes ownership; returns the fh to give the kernel.
  uint64_t Adopt(std::unique_ptr<T> object) {
    const auto fh = reinterpret_cast<uint64_t>(object.get());
    std::lock_guard lock(mutex_);
    owned_.emplace(fh, std::move(object));
    return fh;
  }

  // Valid from Adopt until Drop of the same fh.
  static T& Get(uint64_t fh) { return *reinterpret_cast<T*>(fh); }

  void Drop(uint64_t fh) {
    std::unique_ptr<T> dropped;  // destroyed after the lock is released
    std::lock_guard lock(mutex_);
    auto it = owned_.find(fh);
    if (it == owned_.end()) return;
    dropped = std::move(it->second);
    owned_.erase(it);
  }

  size_t size() const {
    std::lock_guard lock(mutex_);
    return owned_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<uint64_t, std::unique_ptr<T>> owned_;
};

}  // namespace re2po::fs
