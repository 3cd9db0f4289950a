// One writer at a time per store: an flock on <store>/writer.lock. A second
// writer waits (telling the user once) instead of failing on RocksDB's LOCK.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "store/base/status.h"

namespace re2po {

class WriterLock {
 public:
  // `held` opens the Busy message when another process keeps the lock
  // past `timeout`; the holder's pid and "try again later" follow.
  static Result<std::unique_ptr<WriterLock>> Acquire(
      const std::filesystem::path& store_dir, std::chrono::seconds timeout,
      const std::function<void(const std::string&)>& on_wait,
      std::string_view held = "the store is locked by another writer");
  ~WriterLock();
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  explicit WriterLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace re2po
