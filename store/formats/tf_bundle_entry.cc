#include "store/formats/tf_bundle_entry.h"

#include <array>

#include "store/formats/wire/protobuf_reader.h"

namespace re2po {
namespace {

struct TfType {
  std::string_view name;
  DType dtype;
};

// Indexed by the DataType number; quantized integer types keep their
// integer width since their bytes are plain integers.
constexpr std::array<TfType, 31> kTfTypes = {{
    {"DT_INVALID", DType::kUnknown},
    {"DT_FLOAT", DType::kF32},
    {"DT_DOUBLE", DType::kF64},
    {"DT_INT32", DType::kI32},
    {"DT_UINT8", DType::kU8},
    {"DT_INT16", DType::kI16},
    {"DT_INT8", DType::kI8},
    {"DT_STRING", DType::kString},
    {"DT_COMPLEX64", DType::kComplex64},
    {"DT_INT64", DType::kI64},
    {"DT_BOOL", DType::kBool},
    {"DT_QINT8", DType::kI8},
    {"DT_QUINT8", DType::kU8},
    {"DT_QINT32", DType::kI32},
    {"DT_BFLOAT16", DType::kBF16},
    {"DT_QINT16", DType::kI16},
    {"DT_QUINT16", DType::kU16},
    {"DT_UINT16", DType::kU16},
    {"DT_COMPLEX128", DType::kComplex128},
    {"DT_HALF", DType::kF16},
    {"DT_RESOURCE", DType::kUnknown},
    {"DT_VARIANT", DType::kString},
    {"DT_UINT32", DType::kU32},
    {"DT_UINT64", DType::kU64},
    {"DT_FLOAT8_E5M2", DType::kF8},
    {"DT_FLOAT8_E4M3FN", DType::kF8},
    {"DT_FLOAT8_E4M3FNUZ", DType::kF8},
    {"DT_FLOAT8_E4M3B11FNUZ", DType::kF8},
    {"DT_FLOAT8_E5M2FNUZ", DType::kF8},
    {"DT_INT4", DType::kQuantized},
    {"DT_UINT4", DType::kQuantized},
}};

Status DecodeShape(ByteSpan message, std::vector<int64_t>& shape) {
  ProtoReader reader(message, 0);
  while (true) {
    ASSIGN_OR_RETURN(std::optional<ProtoField> field, reader.Next());
    if (!field) return Status::Ok();
    if (field->number != 2 || field->wire_type != WireType::kLengthDelimited) continue;
    ProtoReader dim(*field);
    int64_t size = 0;
    while (true) {
      ASSIGN_OR_RETURN(std::optional<ProtoField> d, dim.Next());
      if (!d) break;
      if (d->number == 1 && d->wire_type == WireType::kVarint) {
        size = static_cast<int64_t>(d->value);
      }
    }
    shape.push_back(size);
  }
}

Status ApplyEntryField(const ProtoField& field, TfBundleEntry& entry) {
  const bool varint = field.wire_type == WireType::kVarint;
  switch (field.number) {
    case 1:
      if (varint) entry.dtype = static_cast<int32_t>(field.value);
      break;
    case 2:
      if (field.wire_type == WireType::kLengthDelimited) {
        RETURN_IF_ERROR(DecodeShape(field.payload, entry.shape));
      }
      break;
    case 3:
      if (varint) entry.shard_id = static_cast<int32_t>(field.value);
      break;
    case 4:
      if (varint) entry.offset = field.value;
      break;
    case 5:
      if (varint) entry.size = field.value;
      break;
    case 6:
      if (field.wire_type == WireType::kFixed32) {
        entry.masked_crc32c = static_cast<uint32_t>(field.value);
      }
      break;
    case 7:
      entry.sliced = true;
      break;
    default:
      break;
  }
  return Status::Ok();
}

}  // namespace

Result<int32_t> DecodeBundleHeader(ByteSpan message) {
  ProtoReader reader(message, 0);
  int32_t num_shards = 0;
  while (true) {
    Result<std::optional<ProtoField>> field = reader.Next();
    if (!field.ok()) return field.status().WithContext("tf bundle header");
    if (!*field) return num_shards;
    if ((*field)->number == 1 && (*field)->wire_type == WireType::kVarint) {
      num_shards = static_cast<int32_t>((*field)->value);
    }
  }
}

Result<TfBundleEntry> DecodeBundleEntry(ByteSpan message) {
  ProtoReader reader(message, 0);
  TfBundleEntry entry;
  while (true) {
    Result<std::optional<ProtoField>> field = reader.Next();
    if (!field.ok()) return field.status().WithContext("tf bundle entry");
    if (!*field) return entry;
    RETURN_IF_ERROR(ApplyEntryField(**field, entry));
  }
}

DType TfDTypeToDType(int32_t tf_dtype) {
  if (tf_dtype < 0 || static_cast<size_t>(tf_dtype) >= kTfTypes.size()) return DType::kUnknown;
  return kTfTypes[static_cast<size_t>(tf_dtype)].dtype;
}

std::string_view TfDTypeName(int32_t tf_dtype) {
  if (tf_dtype < 0 || static_cast<size_t>(tf_dtype) >= kTfTypes.size()) return "";
  return kTfTypes[static_cast<size_t>(tf_dtype)].name;
}

}  // namespace re2po
