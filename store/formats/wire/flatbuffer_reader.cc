#include "store/formats/wire/flatbuffer_reader.h"

#include <string>

namespace re2po {
namespace {

constexpr uint64_t kOffsetSize = 4;        // uoffset_t, soffset_t and vector lengths
constexpr uint64_t kVtableHeaderSize = 4;  // u16 vtable size, u16 table size

Status MalformedFlatbuffer(const std::string& what, uint64_t at) {
  return Status::Corruption("flatbuffer: " + what + " at byte " + std::to_string(at));
}

bool Fits(ByteSpan bytes, uint64_t position, uint64_t size) {
  return position <= bytes.size() && size <= bytes.size() - position;
}

}  // namespace

Result<FlatTable> FlatTable::At(ByteSpan bytes, uint64_t position) {
  if (!Fits(bytes, position, kOffsetSize))
    return MalformedFlatbuffer("table past end of file", position);
  // The vtable sits at position - soffset; the subtraction is done in signed 64 bits.
  const int64_t vtable = static_cast<int64_t>(position) -
                         static_cast<int64_t>(LoadLittleEndian<int32_t>(bytes.data() + position));
  if (vtable < 0 || !Fits(bytes, static_cast<uint64_t>(vtable), kVtableHeaderSize)) {
    return MalformedFlatbuffer("vtable outside the file", position);
  }
  const auto vtable_at = static_cast<uint64_t>(vtable);
  const auto vtable_size = LoadLittleEndian<uint16_t>(bytes.data() + vtable_at);
  const auto table_size = LoadLittleEndian<uint16_t>(bytes.data() + vtable_at + 2);
  if (vtable_size < kVtableHeaderSize || !Fits(bytes, vtable_at, vtable_size)) {
    return MalformedFlatbuffer("vtable of bad size", vtable_at);
  }
  if (table_size < kOffsetSize || !Fits(bytes, position, table_size)) {
    return MalformedFlatbuffer("table of bad size", position);
  }
  return FlatTable(bytes, position, vtable_at, vtable_size, table_size);
}

Result<FlatTable> FlatTable::Root(ByteSpan bytes) {
  if (bytes.size() < kOffsetSize)
    return MalformedFlatbuffer("file shorter than the root offset", 0);
  return At(bytes, LoadLittleEndian<uint32_t>(bytes.data()));
}

Result<std::optional<uint64_t>> FlatTable::FieldPosition(uint32_t field, uint64_t size) const {
  const uint64_t slot = kVtableHeaderSize + 2 * uint64_t{field};
  if (slot + 2 > vtable_size_) return std::optional<uint64_t>();  // older schema: absent
  const auto field_offset = LoadLittleEndian<uint16_t>(bytes_.data() + vtable_ + slot);
  if (field_offset == 0) return std::optional<uint64_t>();
  if (field_offset + size > table_size_) {
    return MalformedFlatbuffer("field " + std::to_string(field) + " outside its table", position_);
  }
  return std::optional<uint64_t>(position_ + field_offset);
}

Result<uint64_t> FlatTable::Follow(uint64_t at) const {
  // `at` lies inside the table (checked), so adding a u32 cannot overflow.
  const uint64_t target = at + LoadLittleEndian<uint32_t>(bytes_.data() + at);
  if (!Fits(bytes_, target, kOffsetSize)) return MalformedFlatbuffer("offset past end of file", at);
  return target;
}

Result<std::optional<FlatVector>> FlatTable::Vector(uint32_t field, uint64_t element_size) const {
  ASSIGN_OR_RETURN(const std::optional<uint64_t> at, FieldPosition(field, kOffsetSize));
  if (!at) return std::optional<FlatVector>();
  ASSIGN_OR_RETURN(const uint64_t vector_at, Follow(*at));
  FlatVector vector;
  vector.length = LoadLittleEndian<uint32_t>(bytes_.data() + vector_at);
  vector.position = vector_at + kOffsetSize;
  vector.element_size = element_size;
  // length < 2^32 and element_size is small, so the product cannot overflow.
  if (!Fits(bytes_, vector.position, vector.length * element_size)) {
    return MalformedFlatbuffer("vector of " + std::to_string(vector.length) + " past end of file",
                               vector_at);
  }
  return std::optional<FlatVector>(vector);
}

Result<std::optional<std::string_view>> FlatTable::String(uint32_t field) const {
  ASSIGN_OR_RETURN(const std::optional<FlatVector> text, Vector(field, 1));
  if (!text) return std::optional<std::string_view>();
  return std::optional<std::string_view>(std::string_view(
      reinterpret_cast<const char*>(bytes_.data() + text->position), text->length));
}

Result<FlatTable> FlatTable::TableAt(const FlatVector& tables, uint64_t index) const {
  if (index >= tables.length || tables.element_size != kOffsetSize) {
    return MalformedFlatbuffer("table index " + std::to_string(index) + " out of range",
                               tables.position);
  }
  ASSIGN_OR_RETURN(const uint64_t table_at, Follow(tables.position + kOffsetSize * index));
  return At(bytes_, table_at);
}

}  // namespace re2po
