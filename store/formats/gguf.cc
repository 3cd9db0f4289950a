#include "store/formats/gguf.h"

#include <algorithm>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "store/formats/segments.h"
#include "store/formats/wire/le_reader.h"

namespace re2po {
namespace {

constexpr std::string_view kFormat = "gguf";
constexpr std::string_view kMagic = "GGUF";
constexpr uint32_t kDefaultAlignment = 32;
constexpr uint32_t kMaxDims = 4;                         // GGML_MAX_DIMS; ggml rejects more
constexpr int kMaxArrayNesting = 8;                      // arrays of arrays; real files use none
constexpr uint64_t kMinKeyValueBytes = 8 + 4 + 1;        // empty key, type, u8 value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;  // empty name, 0 dims, type, offset

enum ValueType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

// Bytes of a fixed-size value; 0 for strings, arrays and unknown types.
uint64_t FixedValueSize(uint32_t type) {
  switch (type) {
    case kU8:
    case kI8:
    case kBool:
      return 1;
    case kU16:
    case kI16:
      return 2;
    case kU32:
    case kI32:
    case kF32:
      return 4;
    case kU64:
    case kI64:
    case kF64:
      return 8;
    default:
      return 0;
  }
}

struct TensorInfo {
  std::string_view name;
  std::vector<uint64_t> dims;  // ggml order: dims[0] varies fastest
  GgmlTypeInfo type;
  uint64_t offset = 0;  // relative to the data section
};

// LeReader with errors that say what was being read and where.
class GgufReader {
 public:
  explicit GgufReader(ByteSpan bytes) : reader_(bytes) {}
  uint64_t position() const { return reader_.position(); }
  uint64_t remaining() const { return reader_.remaining(); }

  template <typename T>
  Result<T> Read(std::string_view what) {
    T value{};
    if (!reader_.Read(value)) return Truncated(what);
    return value;
  }

  Result<std::string_view> ReadString(std::string_view what) {
    ASSIGN_OR_RETURN(const uint64_t length, Read<uint64_t>(what));
    std::string_view text;
    if (!reader_.ReadString(length, text)) return Truncated(what);
    return text;
  }

  Status Skip(uint64_t count, std::string_view what) {
    return reader_.Skip(count) ? Status::Ok() : Truncated(what);
  }

  Status Truncated(std::string_view what) const {
    return Status::Corruption("gguf: " + std::string(what) + " at byte " +
                              std::to_string(reader_.position()) + " runs past end of file");
  }

 private:
  LeReader reader_;
};

Status SkipValue(GgufReader& reader, uint32_t type, int depth);

Status SkipArray(GgufReader& reader, int depth) {
  if (depth > kMaxArrayNesting) return Status::Corruption("gguf: arrays nested too deeply");
  ASSIGN_OR_RETURN(const uint32_t element_type, reader.Read<uint32_t>("array element type"));
  ASSIGN_OR_RETURN(const uint64_t count, reader.Read<uint64_t>("array length"));
  if (const uint64_t size = FixedValueSize(element_type); size != 0) {
    uint64_t total = 0;
    if (__builtin_mul_overflow(count, size, &total)) return reader.Truncated("array");
    return reader.Skip(total, "array");
  }
  // Strings and arrays take at least 8 bytes each: reject absurd counts
  // before looping, so the loop is bounded by the file size.
  if (count > reader.remaining() / 8) return reader.Truncated("array of " + std::to_string(count));
  for (uint64_t i = 0; i < count; ++i) RETURN_IF_ERROR(SkipValue(reader, element_type, depth + 1));
  return Status::Ok();
}

Status SkipValue(GgufReader& reader, uint32_t type, int depth) {
  if (type == kString) return reader.ReadString("string value").status();
  if (type == kArray) return SkipArray(reader, depth);
  const uint64_t size = FixedValueSize(type);
  if (size == 0) return Status::Corruption("gguf: unknown value type " + std::to_string(type));
  return reader.Skip(size, "value");
}

Result<uint32_t> ReadAlignment(GgufReader& reader, uint32_t type) {
  if (type != kU32) {
    return Status::Corruption("gguf: general.alignment has type " + std::to_string(type) +
                              ", not u32");
  }
  ASSIGN_OR_RETURN(const uint32_t alignment, reader.Read<uint32_t>("general.alignment"));
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
    return Status::Corruption("gguf: general.alignment " + std::to_string(alignment) +
                              " is not a power of two");
  }
  return alignment;
}

// Walks the key/values and returns the data alignment they declare.
Result<uint32_t> ReadMetadata(GgufReader& reader, uint64_t kv_count) {
  if (kv_count > reader.remaining() / kMinKeyValueBytes) {
    return Status::Corruption("gguf: absurd metadata count " + std::to_string(kv_count));
  }
  uint32_t alignment = kDefaultAlignment;
  for (uint64_t i = 0; i < kv_count; ++i) {
    ASSIGN_OR_RETURN(const std::string_view key, reader.ReadString("metadata key"));
    ASSIGN_OR_RETURN(const uint32_t type, reader.Read<uint32_t>("metadata value type"));
    if (key == "general.alignment") {
      ASSIGN_OR_RETURN(alignment, ReadAlignment(reader, type));
    } else {
      RETURN_IF_ERROR(SkipValue(reader, type, 0));
    }
  }
  return alignment;
}

Result<TensorInfo> ReadTensorInfo(GgufReader& reader) {
  TensorInfo info;
  ASSIGN_OR_RETURN(info.name, reader.ReadString("tensor name"));
  ASSIGN_OR_RETURN(const uint32_t n_dims, reader.Read<uint32_t>("tensor rank"));
  if (n_dims > kMaxDims) {
    return Status::Corruption("gguf: tensor '" + std::string(info.name) + "' has " +
                              std::to_string(n_dims) + " dimensions (ggml allows 4)");
  }
  for (uint32_t d = 0; d < n_dims; ++d) {
    ASSIGN_OR_RETURN(const uint64_t dim, reader.Read<uint64_t>("tensor dimension"));
    info.dims.push_back(dim);
  }
  ASSIGN_OR_RETURN(const uint32_t type_id, reader.Read<uint32_t>("tensor type"));
  const std::optional<GgmlTypeInfo> type = FindGgmlType(type_id);
  if (!type) {
    return Status::Unsupported("gguf: tensor '" + std::string(info.name) +
                               "' has unknown ggml type " + std::to_string(type_id));
  }
  info.type = *type;
  ASSIGN_OR_RETURN(info.offset, reader.Read<uint64_t>("tensor offset"));
  return info;
}

// Bytes of a tensor: rows of dims[0] elements stored as whole blocks.
Result<uint64_t> TensorByteSize(const TensorInfo& info) {
  const std::string name(info.name);
  const uint64_t row_elements = info.dims.empty() ? 1 : info.dims[0];
  if (row_elements % info.type.block_elements != 0) {
    return Status::Corruption("gguf: tensor '" + name + "' row of " + std::to_string(row_elements) +
                              " is not a multiple of the " + std::string(info.type.name) +
                              " block size");
  }
  uint64_t bytes = 0;
  bool overflow = __builtin_mul_overflow(row_elements / info.type.block_elements,
                                         uint64_t{info.type.block_bytes}, &bytes);
  for (size_t d = 1; d < info.dims.size() && !overflow; ++d) {
    overflow = __builtin_mul_overflow(bytes, info.dims[d], &bytes);
  }
  if (overflow) return Status::Corruption("gguf: tensor '" + name + "' byte size overflows");
  return bytes;
}

DType ToDType(const GgmlTypeInfo& type) {
  switch (type.id) {
    case 0:
      return DType::kF32;
    case 1:
      return DType::kF16;
    case 24:
      return DType::kI8;
    case 25:
      return DType::kI16;
    case 26:
      return DType::kI32;
    case 27:
      return DType::kI64;
    case 28:
      return DType::kF64;
    case 30:
      return DType::kBF16;
    default:
      return DType::kQuantized;
  }
}

Result<Segment> ToSegment(const TensorInfo& info, uint64_t data_start, uint32_t alignment) {
  if (info.offset % alignment != 0) {
    return Status::Corruption("gguf: tensor '" + std::string(info.name) + "' offset " +
                              std::to_string(info.offset) + " is not aligned to " +
                              std::to_string(alignment));
  }
  ASSIGN_OR_RETURN(const uint64_t length, TensorByteSize(info));
  Segment segment;
  if (__builtin_add_overflow(data_start, info.offset, &segment.offset)) {
    return Status::Corruption("gguf: tensor '" + std::string(info.name) + "' offset overflows");
  }
  segment.length = length;
  segment.kind = SegmentKind::kTensor;
  segment.name = std::string(info.name);
  segment.dtype = ToDType(info.type);
  segment.native_dtype = std::string(info.type.name);
  // Report outermost-first like every other format (ggml lists dims reversed).
  for (auto dim = info.dims.rbegin(); dim != info.dims.rend(); ++dim) {
    segment.shape.push_back(static_cast<int64_t>(std::min<uint64_t>(*dim, INT64_MAX)));
  }
  return segment;
}

Status CheckVersion(uint32_t version) {
  if (version == 1) {
    return Status::Unsupported("gguf: version 1 (32-bit counts) is obsolete and not supported");
  }
  if (version != 2 && version != 3) {
    return Status::Unsupported("gguf: unknown version " + std::to_string(version) +
                               " (big-endian files read as a huge version)");
  }
  return Status::Ok();
}

Result<std::vector<TensorInfo>> ReadTensorInfos(GgufReader& reader, uint64_t tensor_count) {
  if (tensor_count > reader.remaining() / kMinTensorInfoBytes) {
    return Status::Corruption("gguf: absurd tensor count " + std::to_string(tensor_count));
  }
  std::vector<TensorInfo> infos;
  std::unordered_set<std::string_view> names;
  for (uint64_t i = 0; i < tensor_count; ++i) {
    ASSIGN_OR_RETURN(TensorInfo info, ReadTensorInfo(reader));
    if (!names.insert(info.name).second) {
      return Status::Corruption("gguf: tensor '" + std::string(info.name) + "' appears twice");
    }
    infos.push_back(std::move(info));
  }
  return infos;
}

}  // namespace

bool SniffGguf(std::string_view /*file_name*/, ByteSpan head) {
  return head.size() >= kMagic.size() &&
         std::equal(kMagic.begin(), kMagic.end(), head.begin(),
                    [](char a, uint8_t b) { return static_cast<uint8_t>(a) == b; });
}

Result<ParsedFile> ParseGguf(ByteSpan bytes) {
  if (!SniffGguf("", bytes)) return Status::Corruption("gguf: bad magic (not \"GGUF\")");
  GgufReader reader(bytes);
  RETURN_IF_ERROR(reader.Skip(kMagic.size(), "magic"));
  ASSIGN_OR_RETURN(const uint32_t version, reader.Read<uint32_t>("version"));
  RETURN_IF_ERROR(CheckVersion(version));
  ASSIGN_OR_RETURN(const uint64_t tensor_count, reader.Read<uint64_t>("tensor count"));
  ASSIGN_OR_RETURN(const uint64_t kv_count, reader.Read<uint64_t>("metadata count"));
  ASSIGN_OR_RETURN(const uint32_t alignment, ReadMetadata(reader, kv_count));
  ASSIGN_OR_RETURN(const std::vector<TensorInfo> infos, ReadTensorInfos(reader, tensor_count));

  // position() <= file size, so aligning up cannot overflow a uint64_t.
  const uint64_t data_start = (reader.position() + alignment - 1) / alignment * alignment;
  std::vector<Segment> segments;
  for (const TensorInfo& info : infos) {
    ASSIGN_OR_RETURN(Segment segment, ToSegment(info, data_start, alignment));
    if (segment.length > 0) segments.push_back(std::move(segment));
  }
  ParsedFile parsed;
  parsed.format = std::string(kFormat);
  ASSIGN_OR_RETURN(parsed.segments,
                   SortedDisjointSegments(kFormat, std::move(segments), bytes.size()));
  return parsed;
}

const FormatParser& GgufFormat() {
  static const FormatParser parser{kFormat, &SniffGguf, &ParseGguf};
  return parser;
}

}  // namespace re2po
