// Bounds-checked little-endian reads over a byte span, shared by the binary
// format parsers. Every read reports failure instead of reading past the end,
// so a parser can turn a short file into a Status naming what was cut off.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace re2po {

// Loads from a pointer the caller has already bounds-checked; memcpy keeps
// unaligned positions (common in flatbuffers and GGUF) well defined.
template <typename T>
inline T LoadLittleEndian(const uint8_t* at) {
  static_assert(std::endian::native == std::endian::little, "big-endian hosts are not supported");
  T value;
  std::memcpy(&value, at, sizeof(T));
  return value;
}

// A cursor that only moves forward over `bytes`. Positions are absolute
// offsets into the span, so callers can report where a problem is.
class LeReader {
 public:
  explicit LeReader(std::span<const uint8_t> bytes, uint64_t position = 0)
      : bytes_(bytes), position_(position <= bytes.size() ? position : bytes.size()) {}

  uint64_t position() const { return position_; }
  uint64_t size() const { return bytes_.size(); }
  uint64_t remaining() const { return bytes_.size() - position_; }

  template <typename T>
  [[nodiscard]] bool Read(T& value) {
    if (remaining() < sizeof(T)) return false;
    value = LoadLittleEndian<T>(bytes_.data() + position_);
    position_ += sizeof(T);
    return true;
  }

  [[nodiscard]] bool Skip(uint64_t count) {
    if (remaining() < count) return false;
    position_ += count;
    return true;
  }

  // Views `count` bytes at the cursor as text without copying.
  [[nodiscard]] bool ReadString(uint64_t count, std::string_view& text) {
    if (remaining() < count) return false;
    text = std::string_view(reinterpret_cast<const char*>(bytes_.data() + position_),
                            static_cast<size_t>(count));
    position_ += count;
    return true;
  }

 private:
  std::span<const uint8_t> bytes_;
  uint64_t position_;
};

}  // namespace re2po
