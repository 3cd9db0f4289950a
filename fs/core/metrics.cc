#include "fs/core/metrics.h"

#include <algorithm>
#include <bit>
#include <functional>

namespace re2po::fs {

std::string_view FuseOpName(FuseOp op) {
  constexpr std::array<std::string_view, kFuseOpCount> kNames = {
      "lookup",  "forget",  "getattr",     "readlink",   "open",     "read",      "release",
      "opendir", "readdir", "readdirplus", "releasedir", "getxattr", "listxattr", "statfs"};
  return kNames[static_cast<size_t>(op)];
}

std::string_view EioCauseName(EioCause cause) {
  constexpr std::array<std::string_view, kEioCauseCount> kNames = {
      "corrupt_chunk", "remote_timeout", "remote_unavailable", "missing_key", "other"};
  return kNames[static_cast<size_t>(cause)];
}

EioCause EioCauseOf(const Status& status) {
  if (status.code() == StatusCode::kCorruption) return EioCause::kCorruptChunk;
  const std::string text = status.ToString();
  auto says = [&](std::string_view words) { return text.find(words) != std::string::npos; };
  if (says("corruption: ")) return EioCause::kCorruptChunk;
  // The remote client's words (store/remote/s3_transport.cc), kept by the
  // node store when it wraps them (store/fleet/node_store.cc).
  if (says("timed out")) return EioCause::kRemoteTimeout;
  if (says("gave up") || says("fetching chunk")) return EioCause::kRemoteUnavailable;
  if (status.code() == StatusCode::kNotFound || says("not found: ")) return EioCause::kMissingKey;
  return EioCause::kOther;
}

LabelCounters::LabelCounters(size_t max_labels)
    : max_labels_(max_labels),
      mask_(std::bit_ceil(std::max<size_t>(2 * max_labels, 2)) - 1),
      slots_(std::make_unique<Slot[]>(mask_ + 1)) {}

LabelCounters::~LabelCounters() {
  for (size_t i = 0; i <= mask_; ++i) delete slots_[i].label.load(std::memory_order_relaxed);
}

LabelCounters::Slot* LabelCounters::SlotFor(std::string_view label) {
  size_t index = std::hash<std::string_view>{}(label)&mask_;
  for (size_t probe = 0; probe <= mask_; ++probe, index = (index + 1) & mask_) {
    Slot& slot = slots_[index];
    const std::string* name = slot.label.load(std::memory_order_acquire);
    if (name == nullptr) {
      if (claimed_.fetch_add(1, std::memory_order_relaxed) >= max_labels_) {
        claimed_.fetch_sub(1, std::memory_order_relaxed);
        return nullptr;
      }
      auto fresh = std::make_unique<std::string>(label);
      if (slot.label.compare_exchange_strong(name, fresh.get(), std::memory_order_acq_rel,
                                             std::memory_order_acquire)) {
        fresh.release();  // the slot owns it now
        return &slot;
      }
      // Another thread claimed this slot first: `name` is now its label.
      claimed_.fetch_sub(1, std::memory_order_relaxed);
    }
    if (*name == label) return &slot;
  }
  return nullptr;
}

void LabelCounters::Add(std::string_view label, uint64_t count) {
  Slot* slot = label == kOtherLabel ? nullptr : SlotFor(label);
  (slot != nullptr ? slot->count : other_).fetch_add(count, std::memory_order_relaxed);
}

std::vector<std::pair<std::string, uint64_t>> LabelCounters::Snapshot() const {
  std::vector<std::pair<std::string, uint64_t>> counts;
  for (size_t i = 0; i <= mask_; ++i) {
    const std::string* label = slots_[i].label.load(std::memory_order_acquire);
    if (label != nullptr)
      counts.emplace_back(*label, slots_[i].count.load(std::memory_order_relaxed));
  }
  std::sort(counts.begin(), counts.end());
  const uint64_t other = other_.load(std::memory_order_relaxed);
  if (other > 0) counts.emplace_back(std::string(kOtherLabel), other);
  return counts;
}

}  // namespace re2po::fs
