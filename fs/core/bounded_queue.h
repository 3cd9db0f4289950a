// A bounded queue that many threads push into and one thread pops from,
// without a lock: a ring of slots, each with a sequence number that says
// whose turn it is (D. Vyukov's bounded MPMC queue, used here with one
// consumer). A push into a full queue fails at once instead of waiting, which
// is what a FUSE thread needs: it must never wait on a background writer.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace re2po::fs {

template <typename T>
class BoundedQueue {
 public:
  // Holds at least `capacity` items (rounded up to a power of two).
  explicit BoundedQueue(size_t capacity)
      : mask_(std::bit_ceil(std::max<size_t>(capacity, 2)) - 1),
        slots_(std::make_unique<Slot[]>(mask_ + 1)) {
    for (size_t i = 0; i <= mask_; ++i) slots_[i].turn.store(i, std::memory_order_relaxed);
  }
  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  size_t capacity() const { return mask_ + 1; }

  // False when full; `item` is then left as it was.
  bool TryPush(T& item) {
    size_t position = tail_.load(std::memory_order_relaxed);
    while (true) {
      Slot& slot = slots_[position & mask_];
      const size_t turn = slot.turn.load(std::memory_order_acquire);
      const auto lag = static_cast<std::ptrdiff_t>(turn - position);
      if (lag == 0) {
        if (tail_.compare_exchange_weak(position, position + 1, std::memory_order_relaxed)) {
          slot.item = std::move(item);
          slot.turn.store(position + 1, std::memory_order_release);
          return true;
        }
      } else if (lag < 0) {
        return false;  // the slot still holds an item from a lap ago: full
      } else {
        position = tail_.load(std::memory_order_relaxed);
      }
    }
  }

  // One consumer at a time.
  bool TryPop(T& out) {
    Slot& slot = slots_[head_ & mask_];
    if (slot.turn.load(std::memory_order_acquire) != head_ + 1) return false;
    out = std::move(slot.item);
    slot.item = T();  // free what it held now, not a lap later
    slot.turn.store(head_ + mask_ + 1, std::memory_order_release);
    ++head_;
    return true;
  }

 private:
  struct Slot {
    std::atomic<size_t> turn{0};
    T item{};
  };
  const size_t mask_;
  std::unique_ptr<Slot[]> slots_;
  alignas(64) std::atomic<size_t> tail_{0};
  alignas(64) size_t head_ = 0;  // the consumer's own
};

}  // namespace re2po::fs
