#include "store/formats/wire/protobuf_reader.h"

#include <string>

#include "store/formats/wire/le_reader.h"

namespace re2po {
namespace {

constexpr int kMaxVarintBytes = 10;
constexpr uint32_t kMaxFieldNumber = (1u << 29) - 1;

Status MalformedProtobuf(const std::string& what, uint64_t at) {
  return Status::Corruption("protobuf: " + what + " at byte " + std::to_string(at));
}

}  // namespace

Result<uint64_t> ProtoReader::ReadVarint() {
  uint64_t value = 0;
  for (int i = 0; i < kMaxVarintBytes; ++i) {
    if (position_ >= message_.size()) {
      return MalformedProtobuf("truncated varint", file_offset_ + position_);
    }
    const uint8_t byte = message_[position_++];
    value |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) return value;
  }
  return MalformedProtobuf("varint longer than 10 bytes", file_offset_ + position_);
}

Result<std::optional<ProtoField>> ProtoReader::Next() {
  if (position_ >= message_.size()) return std::optional<ProtoField>();
  const uint64_t key_at = file_offset_ + position_;
  ASSIGN_OR_RETURN(const uint64_t key, ReadVarint());
  ProtoField field;
  const uint64_t number = key >> 3;
  if (number == 0 || number > kMaxFieldNumber) {
    return MalformedProtobuf("invalid field number " + std::to_string(number), key_at);
  }
  field.number = static_cast<uint32_t>(number);
  const uint64_t remaining = message_.size() - position_;
  switch (key & 7) {
    case 0: {
      field.wire_type = WireType::kVarint;
      ASSIGN_OR_RETURN(field.value, ReadVarint());
      break;
    }
    case 1:
      if (remaining < 8) return MalformedProtobuf("truncated fixed64", key_at);
      field.wire_type = WireType::kFixed64;
      field.value = LoadLittleEndian<uint64_t>(message_.data() + position_);
      position_ += 8;
      break;
    case 5:
      if (remaining < 4) return MalformedProtobuf("truncated fixed32", key_at);
      field.wire_type = WireType::kFixed32;
      field.value = LoadLittleEndian<uint32_t>(message_.data() + position_);
      position_ += 4;
      break;
    case 2: {
      field.wire_type = WireType::kLengthDelimited;
      ASSIGN_OR_RETURN(const uint64_t length, ReadVarint());
      if (length > message_.size() - position_) {
        return MalformedProtobuf("field " + std::to_string(number) + " length " +
                                     std::to_string(length) + " past end of message",
                                 key_at);
      }
      field.payload = message_.subspan(position_, length);
      field.file_offset = file_offset_ + position_;
      position_ += length;
      break;
    }
    default:
      // Groups (3, 4) are deprecated and never written by ONNX; 6 and 7 do not exist.
      return MalformedProtobuf("unsupported wire type " + std::to_string(key & 7), key_at);
  }
  return std::optional<ProtoField>(field);
}

Status CheckProtoDepth(int depth, std::string_view what) {
  if (depth <= kMaxProtoDepth) return Status::Ok();
  return Status::Corruption("protobuf: " + std::string(what) + " nested deeper than " +
                            std::to_string(kMaxProtoDepth) + " levels");
}

}  // namespace re2po
