// Reading one ONNX TensorProto: where its bytes are (raw_data, packed
// float_data/double_data in the .onnx itself, or an external file) and what
// they are (name, data_type, dims). Used by the ONNX graph walk in onnx.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/formats/segment.h"
#include "store/formats/wire/protobuf_reader.h"

namespace re2po {

struct OnnxExternalData {
  std::string location;  // normalised, relative to the .onnx's folder
  uint64_t offset = 0;   // "offset" entry; 0 when absent
  uint64_t length = 0;   // "length" entry; kRestOfFile when absent
};

struct OnnxTensor {
  std::string name;  // may be empty (attribute tensors); the walk supplies one
  int32_t data_type = 0;
  std::vector<int64_t> dims;
  // Payloads that hold the tensor's native little-endian bytes verbatim.
  std::vector<ProtoField> payloads;
  std::optional<OnnxExternalData> external;
};

// Parses a TensorProto message (the payload of `field`).
Result<OnnxTensor> ReadOnnxTensor(const ProtoField& field);

// Segments of an in-file tensor (one per non-empty payload), named `name`.
std::vector<Segment> OnnxPayloadSegments(const OnnxTensor& tensor, const std::string& name);

// The segment of an external tensor within its companion file.
Segment OnnxExternalSegment(const OnnxTensor& tensor, const std::string& name);

// Rejects absolute locations and ".." components and drops "." components,
// so the result is a plain relative path below the model's folder.
Result<std::string> NormalizeOnnxLocation(std::string_view location);

}  // namespace re2po
