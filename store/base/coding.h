// Byte encodings used by every on-disk record (docs/format.md): LEB128
// varints, fixed-width little- and big-endian integers, and length-prefixed
// strings. Decoding is bounds-checked and reports Corruption.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "store/base/digest.h"
#include "store/base/status.h"

namespace re2po {

void PutVarint(std::string& out, uint64_t value);
// Zigzag keeps negative values (pre-1970 mtimes, dims) short as varints.
inline uint64_t ZigZag(int64_t value) {
  return (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
}
inline int64_t UnZigZag(uint64_t value) {
  return static_cast<int64_t>(value >> 1) ^ -static_cast<int64_t>(value & 1);
}

void PutFixed32(std::string& out, uint32_t value);  // little-endian
void PutFixed64(std::string& out, uint64_t value);  // little-endian
void PutBigEndian64(std::string& out, uint64_t value);
void PutLengthPrefixed(std::string& out, std::string_view bytes);

uint64_t DecodeBigEndian64(const char* bytes);
// A fixed64 value as a string of its own (metadata counters).
std::string Fixed64String(uint64_t value);

// Reads fields in order from a record; every Get* fails once the record is
// exhausted or malformed, naming `what` in the message.
class Decoder {
 public:
  Decoder(std::string_view input, std::string_view what) : input_(input), what_(what) {}

  Status GetVarint(uint64_t& value);
  Status GetFixed32(uint32_t& value);
  Status GetFixed64(uint64_t& value);
  Status GetByte(uint8_t& value);
  Status GetBytes(size_t count, std::string_view& bytes);
  Status GetLengthPrefixed(std::string_view& bytes);
  Status GetString(std::string& value);
  Status GetDigest(Digest& digest);  // 32 raw bytes
  // A count of entries of at least `min_entry_bytes` each: a count that
  // promises more than the bytes left could hold is corruption, so a
  // hostile count never drives an allocation.
  Status GetCount(size_t min_entry_bytes, uint64_t& count);

  bool done() const { return input_.empty(); }
  size_t remaining() const { return input_.size(); }

 private:
  Status Truncated() const;

  std::string_view input_;
  std::string_view what_;
};

}  // namespace re2po
