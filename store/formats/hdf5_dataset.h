// One HDF5 dataset -> at most one tensor segment. Internal to hdf5.cc; the
// caller holds the process-wide libhdf5 mutex.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "store/base/status.h"
#include "store/formats/segment.h"

namespace re2po {

// Owns one libhdf5 identifier and closes it with the matching H5?close.
class Hid {
 public:
  Hid() = default;
  Hid(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Hid(Hid&& other) noexcept : id_(std::exchange(other.id_, -1)), close_(other.close_) {}
  Hid& operator=(Hid&& other) noexcept {
    std::swap(id_, other.id_);
    std::swap(close_, other.close_);
    return *this;
  }
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  ~Hid() {
    if (id_ >= 0 && close_ != nullptr) close_(id_);
  }

  bool valid() const { return id_ >= 0; }
  hid_t get() const { return id_; }

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

// The segment of the open `dataset`, named `path` ("/dense/kernel:0");
// nullopt for datasets whose bytes are not a plain tensor (chunked,
// filtered, external, unallocated, variable-length); Corruption when
// libhdf5 places a contiguous dataset outside the file.
Result<std::optional<Segment>> DatasetSegment(hid_t dataset, const std::string& path,
                                              uint64_t file_size);

}  // namespace re2po
