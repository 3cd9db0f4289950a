#include "store/base/coding.h"

#include <algorithm>
#include <cstring>

namespace re2po {

void PutVarint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void PutFixed32(std::string& out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void PutFixed64(std::string& out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void PutBigEndian64(std::string& out, uint64_t value) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void PutLengthPrefixed(std::string& out, std::string_view bytes) {
  PutVarint(out, bytes.size());
  out.append(bytes);
}

std::string Fixed64String(uint64_t value) {
  std::string out;
  PutFixed64(out, value);
  return out;
}

uint64_t DecodeBigEndian64(const char* bytes) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | static_cast<uint8_t>(bytes[i]);
  return value;
}

Status Decoder::Truncated() const {
  return Status::Corruption(std::string(what_) + " record is truncated or malformed");
}

Status Decoder::GetVarint(uint64_t& value) {
  value = 0;
  for (int shift = 0; shift <= 63; shift += 7) {
    if (input_.empty()) return Truncated();
    auto byte = static_cast<uint8_t>(input_.front());
    input_.remove_prefix(1);
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return Status::Ok();
  }
  return Truncated();
}

Status Decoder::GetFixed32(uint32_t& value) {
  std::string_view bytes;
  RETURN_IF_ERROR(GetBytes(4, bytes));
  value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(bytes[i]);
  return Status::Ok();
}

Status Decoder::GetFixed64(uint64_t& value) {
  std::string_view bytes;
  RETURN_IF_ERROR(GetBytes(8, bytes));
  value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(bytes[i]);
  return Status::Ok();
}

Status Decoder::GetByte(uint8_t& value) {
  if (input_.empty()) return Truncated();
  value = static_cast<uint8_t>(input_.front());
  input_.remove_prefix(1);
  return Status::Ok();
}

Status Decoder::GetBytes(size_t count, std::string_view& bytes) {
  if (input_.size() < count) return Truncated();
  bytes = input_.substr(0, count);
  input_.remove_prefix(count);
  return Status::Ok();
}

Status Decoder::GetLengthPrefixed(std::string_view& bytes) {
  uint64_t length = 0;
  RETURN_IF_ERROR(GetVarint(length));
  if (length > input_.size()) return Truncated();
  return GetBytes(static_cast<size_t>(length), bytes);
}

Status Decoder::GetString(std::string& value) {
  std::string_view bytes;
  RETURN_IF_ERROR(GetLengthPrefixed(bytes));
  value.assign(bytes);
  return Status::Ok();
}

Status Decoder::GetDigest(Digest& digest) {
  std::string_view raw;
  RETURN_IF_ERROR(GetBytes(digest.bytes.size(), raw));
  std::memcpy(digest.bytes.data(), raw.data(), raw.size());
  return Status::Ok();
}

Status Decoder::GetCount(size_t min_entry_bytes, uint64_t& count) {
  RETURN_IF_ERROR(GetVarint(count));
  if (count > remaining() / std::max<size_t>(min_entry_bytes, 1)) {
    return Status::Corruption(std::string(what_) + " claims more entries than it holds");
  }
  return Status::Ok();
}

}  // namespace re2po
