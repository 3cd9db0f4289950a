// A read-only memory map of a whole file (RAII). Empty files map nothing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

#include "store/base/status.h"

namespace re2po {

class MappedFile {
 public:
  static Result<std::unique_ptr<MappedFile>> Open(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  uint64_t size() const { return size_; }

 private:
  MappedFile(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  const uint8_t* data_;
  size_t size_;
};

}  // namespace re2po
