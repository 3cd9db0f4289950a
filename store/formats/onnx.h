// ONNX models: a ModelProto in protobuf wire format. Tensor bytes are the
// raw_data / packed float_data / packed double_data payloads of every
// TensorProto in the model (graph initializers, sparse initializers, node
// attributes, subgraphs, functions, training graphs). Tensors stored outside
// the model (data_location EXTERNAL) become CompanionSegments keyed by the
// external file's path relative to the .onnx's folder.
#pragma once

#include <string_view>

#include "store/formats/format.h"

namespace re2po {

const FormatParser& OnnxFormat();

bool SniffOnnx(std::string_view file_name, ByteSpan head);
Result<ParsedFile> ParseOnnx(ByteSpan bytes);

}  // namespace re2po
