// Overlapping fetches of one chunk share a single fetch: the first caller
// does the work, the others wait for its result. Without it, two FUSE
// threads serving neighbouring reads, or a reader catching up with
// read-ahead, read, decode and check the same megabyte twice.
#pragma once

#include <future>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "store/base/digest.h"
#include "store/chunks/chunk_bytes.h"

namespace re2po {

class InFlightFetches {
 public:
  // Runs `fetch` unless a fetch of `digest` is already running, in which
  // case its result (success or error) is returned when it ends.
  template <typename Fetch>
  Result<ChunkBytes> Share(const Digest& digest, Fetch&& fetch) {
    std::promise<Result<ChunkBytes>> promise;
    {
      std::unique_lock lock(mutex_);
      auto [it, leader] = pending_.try_emplace(digest);
      if (!leader) {
        std::shared_future<Result<ChunkBytes>> running = it->second;
        lock.unlock();
        return running.get();
      }
      it->second = promise.get_future().share();
    }
    // Erased however the fetch ends, and before the waiters wake: a caller
    // that saw this fetch's result and asks again starts a new fetch rather
    // than joining the finished one (a retried read after EIO really
    // retries). A throwing fetch leaves the waiters a broken promise, which
    // they rethrow to their own callers.
    struct Erase {
      InFlightFetches& self;
      const Digest& digest;
      bool done = false;
      void Now() {
        if (done) return;
        done = true;
        std::lock_guard lock(self.mutex_);
        self.pending_.erase(digest);
      }
      ~Erase() { Now(); }
    } erase{*this, digest};
    Result<ChunkBytes> result = std::forward<Fetch>(fetch)();
    erase.Now();
    promise.set_value(result);
    return result;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<Digest, std::shared_future<Result<ChunkBytes>>, DigestHash> pending_;
};

}  // namespace re2po
