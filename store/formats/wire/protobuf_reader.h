// A minimal, bounds-checked protobuf wire-format reader. It walks the fields
// of one message and reports, for every length-delimited field, where its
// payload sits in the whole file, so parsers can point at tensor bytes
// without copying them. It never recurses itself: callers descend into
// nested messages explicitly and count depth with ProtoDepth.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "store/base/byte_span.h"
#include "store/base/status.h"

namespace re2po {

enum class WireType : uint8_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kFixed32 = 5,
};

struct ProtoField {
  uint32_t number = 0;
  WireType wire_type = WireType::kVarint;
  uint64_t value = 0;        // varint and fixed values
  ByteSpan payload;          // length-delimited payload (empty otherwise)
  uint64_t file_offset = 0;  // where `payload` starts in the file
};

// Nested messages deeper than this are treated as hostile: real ONNX models
// nest a few levels per subgraph, and a limit keeps recursion off the stack's edge.
inline constexpr int kMaxProtoDepth = 64;

class ProtoReader {
 public:
  // `message` starts at `file_offset` in the file being parsed.
  ProtoReader(ByteSpan message, uint64_t file_offset)
      : message_(message), file_offset_(file_offset) {}
  // A reader over the payload of a length-delimited field.
  explicit ProtoReader(const ProtoField& field) : ProtoReader(field.payload, field.file_offset) {}

  // The next field, nullopt at the end of the message, or a Corruption for
  // truncated or malformed input (bad varints, groups, field number 0).
  Result<std::optional<ProtoField>> Next();

 private:
  Result<uint64_t> ReadVarint();

  ByteSpan message_;
  uint64_t file_offset_;
  uint64_t position_ = 0;
};

// Decodes a field's payload as a UTF-8 string view (no validation).
inline std::string_view PayloadText(const ProtoField& field) {
  return {reinterpret_cast<const char*>(field.payload.data()), field.payload.size()};
}

// Checks the depth of a nested message before descending into it.
Status CheckProtoDepth(int depth, std::string_view what);

}  // namespace re2po
