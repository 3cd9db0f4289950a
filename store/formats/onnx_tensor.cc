#include "store/formats/onnx_tensor.h"

#include <charconv>
#include <utility>

#include "store/formats/segments.h"

namespace re2po {
namespace {

// TensorProto field numbers (onnx.proto).
enum TensorField : uint32_t {
  kDims = 1,
  kDataType = 2,
  kFloatData = 4,
  kName = 8,
  kRawData = 9,
  kDoubleData = 10,
  kExternalData = 13,
  kDataLocation = 14,
};
constexpr uint64_t kLocationExternal = 1;

struct OnnxType {
  std::string_view name;
  DType dtype;
};

// Indexed by TensorProto.DataType.
constexpr OnnxType kOnnxTypes[] = {
    {"UNDEFINED", DType::kUnknown},
    {"FLOAT", DType::kF32},
    {"UINT8", DType::kU8},
    {"INT8", DType::kI8},
    {"UINT16", DType::kU16},
    {"INT16", DType::kI16},
    {"INT32", DType::kI32},
    {"INT64", DType::kI64},
    {"STRING", DType::kString},
    {"BOOL", DType::kBool},
    {"FLOAT16", DType::kF16},
    {"DOUBLE", DType::kF64},
    {"UINT32", DType::kU32},
    {"UINT64", DType::kU64},
    {"COMPLEX64", DType::kComplex64},
    {"COMPLEX128", DType::kComplex128},
    {"BFLOAT16", DType::kBF16},
    {"FLOAT8E4M3FN", DType::kF8},
    {"FLOAT8E4M3FNUZ", DType::kF8},
    {"FLOAT8E5M2", DType::kF8},
    {"FLOAT8E5M2FNUZ", DType::kF8},
    {"UINT4", DType::kQuantized},
    {"INT4", DType::kQuantized},
    {"FLOAT4E2M1", DType::kQuantized},
    {"FLOAT8E8M0", DType::kF8},
    {"UINT2", DType::kQuantized},
    {"INT2", DType::kQuantized},
};

OnnxType TypeOf(int32_t data_type) {
  if (data_type < 0 || static_cast<size_t>(data_type) >= std::size(kOnnxTypes)) {
    return {"UNKNOWN", DType::kUnknown};
  }
  return kOnnxTypes[data_type];
}

Result<uint64_t> ParseDecimal(std::string_view key, std::string_view text) {
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return Status::Corruption("onnx: external_data " + std::string(key) + " '" + std::string(text) +
                              "' is not a decimal number");
  }
  return value;
}

// Decodes one varint of a packed run; false when it is cut off or too long.
bool NextPackedVarint(ByteSpan run, size_t& position, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64 && position < run.size(); shift += 7) {
    const uint8_t byte = run[position++];
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

// Dims are int64 and may be packed (one length-delimited run) or not.
Status ReadDims(const ProtoField& field, std::vector<int64_t>& dims) {
  if (field.wire_type == WireType::kVarint) {
    dims.push_back(static_cast<int64_t>(field.value));
    return Status::Ok();
  }
  if (field.wire_type != WireType::kLengthDelimited) {
    return Status::Corruption("onnx: tensor dims have a fixed-width wire type");
  }
  size_t position = 0;
  while (position < field.payload.size()) {
    uint64_t dim = 0;
    if (!NextPackedVarint(field.payload, position, dim)) {
      return Status::Corruption("onnx: malformed packed dims at byte " +
                                std::to_string(field.file_offset + position));
    }
    dims.push_back(static_cast<int64_t>(dim));
  }
  return Status::Ok();
}

// One StringStringEntryProto {1 key, 2 value} of external_data.
Status ReadExternalEntry(const ProtoField& entry, OnnxExternalData& external) {
  std::string_view key;
  std::string_view value;
  ProtoReader reader(entry);
  while (true) {
    ASSIGN_OR_RETURN(const std::optional<ProtoField> field, reader.Next());
    if (!field) break;
    if (field->wire_type != WireType::kLengthDelimited) continue;
    if (field->number == 1) key = PayloadText(*field);
    if (field->number == 2) value = PayloadText(*field);
  }
  if (key == "location") {
    ASSIGN_OR_RETURN(external.location, NormalizeOnnxLocation(value));
  } else if (key == "offset") {
    ASSIGN_OR_RETURN(external.offset, ParseDecimal(key, value));
  } else if (key == "length") {
    ASSIGN_OR_RETURN(external.length, ParseDecimal(key, value));
  }
  return Status::Ok();
}

Status ReadTensorField(const ProtoField& field, OnnxTensor& tensor, OnnxExternalData& external,
                       bool& is_external) {
  const bool bytes = field.wire_type == WireType::kLengthDelimited;
  switch (field.number) {
    case kDims:
      return ReadDims(field, tensor.dims);
    case kDataType:
      tensor.data_type = static_cast<int32_t>(field.value);
      break;
    case kName:
      if (bytes) tensor.name = std::string(PayloadText(field));
      break;
    case kRawData:
    case kFloatData:   // packed fixed32: the payload is the float32 bytes
    case kDoubleData:  // packed fixed64: the payload is the float64 bytes
      if (bytes && !field.payload.empty()) tensor.payloads.push_back(field);
      break;
    case kExternalData:
      if (bytes) return ReadExternalEntry(field, external);
      break;
    case kDataLocation:
      is_external = field.value == kLocationExternal;
      break;
    default:
      break;
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> NormalizeOnnxLocation(std::string_view location) {
  if (location.empty()) return Status::Corruption("onnx: empty external_data location");
  const bool drive_letter = location.size() >= 2 && location[1] == ':';
  if (location.front() == '/' || location.front() == '\\' || drive_letter) {
    return Status::Corruption("onnx: external_data location '" + std::string(location) +
                              "' is absolute");
  }
  std::string normalized;
  while (!location.empty()) {
    const size_t cut = location.find_first_of("/\\");
    const std::string_view part = location.substr(0, cut);
    location = cut == std::string_view::npos ? std::string_view() : location.substr(cut + 1);
    if (part.empty() || part == ".") continue;
    if (part == ".." || part.find('\0') != std::string_view::npos) {
      return Status::Corruption("onnx: external_data location leaves the model's folder");
    }
    if (!normalized.empty()) normalized += '/';
    normalized += part;
  }
  if (normalized.empty()) return Status::Corruption("onnx: external_data location names no file");
  return normalized;
}

Result<OnnxTensor> ReadOnnxTensor(const ProtoField& field) {
  OnnxTensor tensor;
  OnnxExternalData external;
  external.length = kRestOfFile;
  bool is_external = false;
  ProtoReader reader(field);
  while (true) {
    ASSIGN_OR_RETURN(const std::optional<ProtoField> next, reader.Next());
    if (!next) break;
    RETURN_IF_ERROR(ReadTensorField(*next, tensor, external, is_external));
  }
  if (is_external) {
    if (external.location.empty()) {
      return Status::Corruption("onnx: tensor '" + tensor.name +
                                "' is external but has no location");
    }
    tensor.external = std::move(external);
    tensor.payloads.clear();  // external tensors carry no in-file data
  }
  return tensor;
}

std::vector<Segment> OnnxPayloadSegments(const OnnxTensor& tensor, const std::string& name) {
  const OnnxType type = TypeOf(tensor.data_type);
  std::vector<Segment> segments;
  for (const ProtoField& payload : tensor.payloads) {
    Segment segment;
    segment.offset = payload.file_offset;
    segment.length = payload.payload.size();
    segment.kind = SegmentKind::kTensor;
    segment.name = name;
    segment.dtype = type.dtype;
    segment.native_dtype = std::string(type.name);
    segment.shape = tensor.dims;
    segments.push_back(std::move(segment));
  }
  return segments;
}

Segment OnnxExternalSegment(const OnnxTensor& tensor, const std::string& name) {
  const OnnxType type = TypeOf(tensor.data_type);
  Segment segment;
  segment.offset = tensor.external->offset;
  segment.length = tensor.external->length;
  segment.kind = SegmentKind::kTensor;
  segment.name = name;
  segment.dtype = type.dtype;
  segment.native_dtype = std::string(type.name);
  segment.shape = tensor.dims;
  return segment;
}

}  // namespace re2po
