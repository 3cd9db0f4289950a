// What the mount counts for its metrics endpoint (docs/operations.md,
// "Metrics"). Every counter is a relaxed atomic that FUSE threads bump with
// no lock, and that a scrape reads with no lock; the per-model open counts
// live in a fixed table that is filled without a lock as well. A scrape can
// therefore never make a reader wait, and a reader never waits for a scrape.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/base/histogram.h"
#include "store/base/status.h"

namespace re2po::fs {

// The FUSE operations counted, by the name the metrics label them with.
enum class FuseOp : uint8_t {
  kLookup,
  kForget,
  kGetattr,
  kReadlink,
  kOpen,
  kRead,
  kRelease,
  kOpendir,
  kReaddir,
  kReaddirplus,
  kReleasedir,
  kGetxattr,
  kListxattr,
  kStatfs,
};
inline constexpr size_t kFuseOpCount = static_cast<size_t>(FuseOp::kStatfs) + 1;
std::string_view FuseOpName(FuseOp op);

// Why a request was answered EIO, read from the Status at the errno edge.
enum class EioCause : uint8_t {
  kCorruptChunk,       // a chunk failed its checksum (or its size)
  kRemoteTimeout,      // a node's remote did not answer in time
  kRemoteUnavailable,  // a node's remote failed (refused, 5xx after retries)
  kMissingKey,         // a chunk or recipe the catalog names is not stored
  kOther,
};
inline constexpr size_t kEioCauseCount = static_cast<size_t>(EioCause::kOther) + 1;
std::string_view EioCauseName(EioCause cause);
// The mount wraps a store error in an I/O error that names the file, so the
// inner cause is in the message ("...: corruption: chunk ...").
EioCause EioCauseOf(const Status& status);

// Counters keyed by a label value (a model name) with a bound on how many
// distinct values get their own counter: past `max_labels`, the rest are
// folded into kOtherLabel, so a store with a million models cannot make the
// exposition a million lines. Add never locks: a fixed open-addressing table
// whose slots, once claimed, keep their name for the table's life.
class LabelCounters {
 public:
  static constexpr std::string_view kOtherLabel = "_other";
  explicit LabelCounters(size_t max_labels);
  ~LabelCounters();
  LabelCounters(const LabelCounters&) = delete;
  LabelCounters& operator=(const LabelCounters&) = delete;

  void Add(std::string_view label, uint64_t count = 1);
  // Every label with its count (kOtherLabel last, when anything was folded).
  std::vector<std::pair<std::string, uint64_t>> Snapshot() const;

 private:
  struct Slot {
    std::atomic<const std::string*> label{nullptr};
    std::atomic<uint64_t> count{0};
  };
  // The slot holding `label`, claiming a free one if the bound allows; null
  // when the label must be folded.
  Slot* SlotFor(std::string_view label);

  const size_t max_labels_;
  const size_t mask_;  // table size - 1 (a power of two, at least twice max_labels_)
  std::unique_ptr<Slot[]> slots_;
  std::atomic<size_t> claimed_{0};
  std::atomic<uint64_t> other_{0};
};

// The mount's own counters (the store, the read-ahead and the access log
// keep theirs). `enabled` false (no metrics endpoint) makes the FUSE
// callbacks skip the counting and the clock reads altogether.
class MountMetrics {
 public:
  explicit MountMetrics(bool enabled, size_t max_model_labels = 1000)
      : enabled_(enabled), model_opens_(max_model_labels) {}

  bool enabled() const { return enabled_; }
  void Request(FuseOp op) { ops_[Index(op)].requests.fetch_add(1, std::memory_order_relaxed); }
  void Bytes(FuseOp op, uint64_t bytes) {
    ops_[Index(op)].bytes.fetch_add(bytes, std::memory_order_relaxed);
  }
  void ReadLatency(uint64_t ns) { read_ns_.Observe(ns); }
  void Eio(EioCause cause) {
    eio_[static_cast<size_t>(cause)].fetch_add(1, std::memory_order_relaxed);
  }
  void Opened(std::string_view model) { model_opens_.Add(model); }

  uint64_t requests(FuseOp op) const {
    return ops_[Index(op)].requests.load(std::memory_order_relaxed);
  }
  uint64_t bytes(FuseOp op) const { return ops_[Index(op)].bytes.load(std::memory_order_relaxed); }
  uint64_t eio(EioCause cause) const {
    return eio_[static_cast<size_t>(cause)].load(std::memory_order_relaxed);
  }
  HistogramSnapshot read_latency() const { return read_ns_.Snapshot(); }
  std::vector<std::pair<std::string, uint64_t>> model_opens() const {
    return model_opens_.Snapshot();
  }

 private:
  static size_t Index(FuseOp op) { return static_cast<size_t>(op); }
  // One cache line per operation: FUSE threads bump different operations
  // without sharing a line.
  struct alignas(64) OpCounters {
    std::atomic<uint64_t> requests{0};
    std::atomic<uint64_t> bytes{0};
  };

  const bool enabled_;
  std::array<OpCounters, kFuseOpCount> ops_;
  std::array<std::atomic<uint64_t>, kEioCauseCount> eio_{};
  Histogram read_ns_{LatencyBoundsNs()};
  LabelCounters model_opens_;
};

}  // namespace re2po::fs
