#include "store/formats/safetensors.h"

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "store/formats/segments.h"
#include "store/formats/wire/le_reader.h"

namespace re2po {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kFormat = "safetensors";
constexpr uint64_t kLengthFieldSize = 8;

struct DTypeInfo {
  std::string_view name;
  DType dtype;
  uint64_t bytes_per_element;  // 0 for sub-byte types, whose size is not checked
};

constexpr DTypeInfo kDTypes[] = {
    {"BOOL", DType::kBool, 1},
    {"U8", DType::kU8, 1},
    {"I8", DType::kI8, 1},
    {"F8_E5M2", DType::kF8, 1},
    {"F8_E4M3", DType::kF8, 1},
    {"F8_E8M0", DType::kF8, 1},
    {"I16", DType::kI16, 2},
    {"U16", DType::kU16, 2},
    {"F16", DType::kF16, 2},
    {"BF16", DType::kBF16, 2},
    {"I32", DType::kI32, 4},
    {"U32", DType::kU32, 4},
    {"F32", DType::kF32, 4},
    {"F64", DType::kF64, 8},
    {"I64", DType::kI64, 8},
    {"U64", DType::kU64, 8},
    {"C64", DType::kComplex64, 8},
    {"F4", DType::kQuantized, 0},
    {"F6_E2M3", DType::kQuantized, 0},
    {"F6_E3M2", DType::kQuantized, 0},
};

const DTypeInfo* FindDType(std::string_view name) {
  for (const DTypeInfo& info : kDTypes) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

Status Problem(const std::string& tensor, const std::string& what) {
  return Status::Corruption(std::string(kFormat) + ": tensor '" + tensor + "' " + what);
}

Result<std::vector<int64_t>> ReadShape(const std::string& name, const Json& shape) {
  if (!shape.is_array()) return Problem(name, "has no shape array");
  std::vector<int64_t> dims;
  dims.reserve(shape.size());  // bounded: the JSON already holds that many values
  for (const Json& dim : shape) {
    if (!dim.is_number_unsigned()) return Problem(name, "has a shape entry that is not a size");
    const uint64_t value = dim.get<uint64_t>();
    if (value > static_cast<uint64_t>(INT64_MAX)) return Problem(name, "has an absurd dimension");
    dims.push_back(static_cast<int64_t>(value));
  }
  return dims;
}

// The tensor's byte count implied by dtype and shape, checked against the
// data_offsets so a header that lies about either is caught.
Status CheckByteCount(const std::string& name, const DTypeInfo& info,
                      const std::vector<int64_t>& shape, uint64_t length) {
  if (info.bytes_per_element == 0) return Status::Ok();
  uint64_t expected = info.bytes_per_element;
  for (int64_t dim : shape) {
    if (__builtin_mul_overflow(expected, static_cast<uint64_t>(dim), &expected)) {
      return Problem(name, "has a shape whose byte size overflows");
    }
  }
  if (expected != length) {
    return Problem(name, "data_offsets span " + std::to_string(length) + " bytes but " +
                             std::string(info.name) + " shape needs " + std::to_string(expected));
  }
  return Status::Ok();
}

Result<Segment> ReadEntry(const std::string& name, const Json& entry, uint64_t data_start,
                          uint64_t data_size) {
  if (!entry.is_object()) return Problem(name, "is not a JSON object");
  const auto dtype = entry.find("dtype");
  const auto offsets = entry.find("data_offsets");
  if (dtype == entry.end() || !dtype->is_string()) return Problem(name, "has no dtype string");
  if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 ||
      !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned()) {
    return Problem(name, "has no [begin, end] data_offsets");
  }
  const uint64_t begin = (*offsets)[0].get<uint64_t>();
  const uint64_t end = (*offsets)[1].get<uint64_t>();
  if (begin > end || end > data_size) {
    return Problem(name, "data_offsets [" + std::to_string(begin) + "," + std::to_string(end) +
                             ") past end of data (" + std::to_string(data_size) + " bytes)");
  }
  const auto shape_field = entry.find("shape");
  if (shape_field == entry.end()) return Problem(name, "has no shape");
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, ReadShape(name, *shape_field));
  const std::string& native = dtype->get_ref<const std::string&>();
  const DTypeInfo* info = FindDType(native);
  if (info != nullptr) RETURN_IF_ERROR(CheckByteCount(name, *info, shape, end - begin));

  Segment segment;
  segment.offset = data_start + begin;
  segment.length = end - begin;
  segment.kind = SegmentKind::kTensor;
  segment.name = name;
  segment.dtype = info != nullptr ? info->dtype : DType::kUnknown;
  segment.native_dtype = native;
  segment.shape = std::move(shape);
  return segment;
}

}  // namespace

bool SniffSafetensors(std::string_view file_name, ByteSpan head) {
  if (file_name.ends_with(".safetensors")) return true;
  if (head.size() <= kLengthFieldSize) return false;
  const uint64_t header_length = LoadLittleEndian<uint64_t>(head.data());
  // Real headers are at least "{}" and the reference implementation caps them at 100 MB.
  return header_length >= 2 && header_length <= (uint64_t{100} << 20) && head[8] == '{';
}

Result<ParsedFile> ParseSafetensors(ByteSpan bytes) {
  LeReader reader(bytes);
  uint64_t header_length = 0;
  if (!reader.Read(header_length)) {
    return Status::Corruption("safetensors: file shorter than the 8-byte header length");
  }
  if (header_length > reader.remaining()) {
    return Status::Corruption("safetensors: header length " + std::to_string(header_length) +
                              " past end of file (" + std::to_string(bytes.size()) + " bytes)");
  }
  const auto header_begin = bytes.begin() + kLengthFieldSize;
  const Json header =
      Json::parse(header_begin, header_begin + static_cast<ptrdiff_t>(header_length), nullptr,
                  /*allow_exceptions=*/false);
  if (header.is_discarded()) return Status::Corruption("safetensors: header is not valid JSON");
  if (!header.is_object()) return Status::Corruption("safetensors: header is not a JSON object");

  const uint64_t data_start = kLengthFieldSize + header_length;
  const uint64_t data_size = bytes.size() - data_start;
  std::vector<Segment> segments;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    ASSIGN_OR_RETURN(Segment segment, ReadEntry(name, entry, data_start, data_size));
    if (segment.length > 0) segments.push_back(std::move(segment));
  }
  ParsedFile parsed;
  parsed.format = std::string(kFormat);
  ASSIGN_OR_RETURN(parsed.segments,
                   SortedDisjointSegments(kFormat, std::move(segments), bytes.size()));
  return parsed;
}

const FormatParser& SafetensorsFormat() {
  static const FormatParser parser{kFormat, &SniffSafetensors, &ParseSafetensors};
  return parser;
}

}  // namespace re2po
