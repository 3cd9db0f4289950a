#include "store/formats/tflite.h"

#include <algorithm>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/formats/segments.h"
#include "store/formats/wire/flatbuffer_reader.h"

namespace re2po {
namespace {

constexpr std::string_view kFormat = "tflite";
constexpr std::string_view kIdentifier = "TFL3";
constexpr uint64_t kIdentifierAt = 4;

// Field indices from tensorflow/lite/schema/schema.fbs.
namespace model {
constexpr uint32_t kSubgraphs = 2, kBuffers = 4, kMetadataBuffer = 5, kMetadata = 6;
}
namespace subgraph {
constexpr uint32_t kTensors = 0;
}
namespace tensor {
constexpr uint32_t kShape = 0, kType = 1, kBuffer = 2, kName = 3;
}
namespace buffer {
constexpr uint32_t kData = 0, kOffset = 1, kSize = 2;
}
namespace metadata {
constexpr uint32_t kBuffer = 1;
}

// Buffer.offset values 0 and 1 mean "no data after the flatbuffer" (the
// converter writes 1 as a placeholder before it knows the real offset).
constexpr uint64_t kFirstRealOffset = 2;

struct TensorType {
  std::string_view name;
  DType dtype;
};

// Indexed by the TensorType enum.
constexpr TensorType kTensorTypes[] = {
    {"FLOAT32", DType::kF32},   {"FLOAT16", DType::kF16},      {"INT32", DType::kI32},
    {"UINT8", DType::kU8},      {"INT64", DType::kI64},        {"STRING", DType::kString},
    {"BOOL", DType::kBool},     {"INT16", DType::kI16},        {"COMPLEX64", DType::kComplex64},
    {"INT8", DType::kI8},       {"FLOAT64", DType::kF64},      {"COMPLEX128", DType::kComplex128},
    {"UINT64", DType::kU64},    {"RESOURCE", DType::kUnknown}, {"VARIANT", DType::kUnknown},
    {"UINT32", DType::kU32},    {"UINT16", DType::kU16},       {"INT4", DType::kQuantized},
    {"BFLOAT16", DType::kBF16},
};

TensorType TypeOf(int8_t type) {
  if (type < 0 || static_cast<size_t>(type) >= std::size(kTensorTypes)) {
    return {"UNKNOWN", DType::kUnknown};
  }
  return kTensorTypes[type];
}

// What the first tensor reading a buffer says about it.
struct BufferLabel {
  std::string name;
  TensorType type;
  std::vector<int64_t> shape;
  bool is_metadata = false;
};

// Labels by buffer index; only indices below the buffer count are kept.
using Labels = std::unordered_map<uint32_t, BufferLabel>;

Result<std::vector<int64_t>> ReadShape(const FlatTable& tensor_table) {
  std::vector<int64_t> shape;
  ASSIGN_OR_RETURN(const std::optional<FlatVector> dims, tensor_table.Vector(tensor::kShape, 4));
  for (uint64_t i = 0; dims && i < dims->length; ++i) {
    ASSIGN_OR_RETURN(const int32_t dim, tensor_table.ScalarAt<int32_t>(*dims, i));
    shape.push_back(dim);
  }
  return shape;
}

Status LabelFromTensor(const FlatTable& tensor_table, uint64_t buffer_count, Labels& labels) {
  ASSIGN_OR_RETURN(const uint32_t buffer_index, tensor_table.Scalar<uint32_t>(tensor::kBuffer, 0));
  if (buffer_index >= buffer_count || labels.contains(buffer_index)) return Status::Ok();
  BufferLabel label;
  ASSIGN_OR_RETURN(const std::optional<std::string_view> name, tensor_table.String(tensor::kName));
  label.name = std::string(name.value_or(""));
  ASSIGN_OR_RETURN(const int8_t type, tensor_table.Scalar<int8_t>(tensor::kType, 0));
  label.type = TypeOf(type);
  ASSIGN_OR_RETURN(label.shape, ReadShape(tensor_table));
  labels.emplace(buffer_index, std::move(label));
  return Status::Ok();
}

// Subgraphs could all point at one tensor vector, making the walk quadratic.
// In a real file every tensor slot is 4 bytes of its own, so the total number
// of slots visited can never exceed file_size / 4.
Status LabelFromSubgraphs(const FlatTable& model_table, uint64_t buffer_count, uint64_t file_size,
                          Labels& labels) {
  ASSIGN_OR_RETURN(const std::optional<FlatVector> subgraphs,
                   model_table.Vector(model::kSubgraphs, 4));
  uint64_t slots_left = file_size / 4;
  for (uint64_t s = 0; subgraphs && s < subgraphs->length; ++s) {
    ASSIGN_OR_RETURN(const FlatTable subgraph_table, model_table.TableAt(*subgraphs, s));
    ASSIGN_OR_RETURN(const std::optional<FlatVector> tensors,
                     subgraph_table.Vector(subgraph::kTensors, 4));
    if (tensors && tensors->length > slots_left) {
      return Status::Corruption("tflite: subgraphs list more tensors than the file can hold");
    }
    slots_left -= tensors ? tensors->length : 0;
    for (uint64_t t = 0; tensors && t < tensors->length; ++t) {
      ASSIGN_OR_RETURN(const FlatTable tensor_table, subgraph_table.TableAt(*tensors, t));
      RETURN_IF_ERROR(LabelFromTensor(tensor_table, buffer_count, labels));
    }
  }
  return Status::Ok();
}

void MarkMetadata(uint64_t index, uint64_t buffer_count, Labels& labels) {
  if (index < buffer_count) labels[static_cast<uint32_t>(index)].is_metadata = true;
}

// Buffers named by Model.metadata and Model.metadata_buffer hold runtime
// versions and metadata flatbuffers, not tensors.
Status LabelMetadata(const FlatTable& model_table, uint64_t buffer_count, Labels& labels) {
  ASSIGN_OR_RETURN(const std::optional<FlatVector> old_style,
                   model_table.Vector(model::kMetadataBuffer, 4));
  for (uint64_t i = 0; old_style && i < old_style->length; ++i) {
    ASSIGN_OR_RETURN(const int32_t index, model_table.ScalarAt<int32_t>(*old_style, i));
    if (index >= 0) MarkMetadata(static_cast<uint64_t>(index), buffer_count, labels);
  }
  ASSIGN_OR_RETURN(const std::optional<FlatVector> entries,
                   model_table.Vector(model::kMetadata, 4));
  for (uint64_t i = 0; entries && i < entries->length; ++i) {
    ASSIGN_OR_RETURN(const FlatTable entry, model_table.TableAt(*entries, i));
    ASSIGN_OR_RETURN(const uint32_t index, entry.Scalar<uint32_t>(metadata::kBuffer, 0));
    MarkMetadata(index, buffer_count, labels);
  }
  return Status::Ok();
}

// The byte range of one buffer, or an empty segment when it holds no data.
Result<Segment> BufferRange(const FlatTable& buffer_table) {
  Segment segment;
  ASSIGN_OR_RETURN(const std::optional<FlatVector> data, buffer_table.Vector(buffer::kData, 1));
  if (data && data->length > 0) {
    segment.offset = data->position;
    segment.length = data->length;
    return segment;
  }
  ASSIGN_OR_RETURN(const uint64_t offset, buffer_table.Scalar<uint64_t>(buffer::kOffset, 0));
  ASSIGN_OR_RETURN(const uint64_t size, buffer_table.Scalar<uint64_t>(buffer::kSize, 0));
  if (offset >= kFirstRealOffset) {
    segment.offset = offset;  // from the file start; SortedDisjointSegments checks the end
    segment.length = size;
  }
  return segment;
}

void ApplyLabel(uint64_t index, const Labels& labels, Segment& segment) {
  const auto found = labels.find(static_cast<uint32_t>(index));
  if (found != labels.end() && found->second.is_metadata) {
    segment.kind = SegmentKind::kMetadata;
    return;
  }
  segment.kind = SegmentKind::kTensor;
  if (found == labels.end() || found->second.name.empty()) {
    segment.name = "buffer/" + std::to_string(index);
  } else {
    segment.name = found->second.name;
  }
  if (found == labels.end()) return;
  segment.dtype = found->second.type.dtype;
  segment.native_dtype = std::string(found->second.type.name);
  segment.shape = found->second.shape;
}

}  // namespace

bool SniffTflite(std::string_view /*file_name*/, ByteSpan head) {
  return head.size() >= kIdentifierAt + kIdentifier.size() &&
         std::equal(kIdentifier.begin(), kIdentifier.end(), head.begin() + kIdentifierAt,
                    [](char a, uint8_t b) { return static_cast<uint8_t>(a) == b; });
}

Result<ParsedFile> ParseTflite(ByteSpan bytes) {
  if (!SniffTflite("", bytes)) return Status::Corruption("tflite: no \"TFL3\" identifier");
  ASSIGN_OR_RETURN(const FlatTable model_table, FlatTable::Root(bytes));
  ASSIGN_OR_RETURN(const std::optional<FlatVector> buffers, model_table.Vector(model::kBuffers, 4));
  const uint64_t buffer_count = buffers ? buffers->length : 0;
  Labels labels;
  RETURN_IF_ERROR(LabelFromSubgraphs(model_table, buffer_count, bytes.size(), labels));
  RETURN_IF_ERROR(LabelMetadata(model_table, buffer_count, labels));

  std::vector<Segment> segments;
  for (uint64_t i = 0; i < buffer_count; ++i) {
    ASSIGN_OR_RETURN(const FlatTable buffer_table, model_table.TableAt(*buffers, i));
    ASSIGN_OR_RETURN(Segment segment, BufferRange(buffer_table));
    if (segment.length == 0) continue;
    ApplyLabel(i, labels, segment);
    segments.push_back(std::move(segment));
  }
  ParsedFile parsed;
  parsed.format = std::string(kFormat);
  ASSIGN_OR_RETURN(parsed.segments,
                   SortedDisjointSegments(kFormat, std::move(segments), bytes.size()));
  return parsed;
}

const FormatParser& TfliteFormat() {
  static const FormatParser parser{kFormat, &SniffTflite, &ParseTflite};
  return parser;
}

}  // namespace re2po
