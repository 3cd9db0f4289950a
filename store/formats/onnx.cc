#include "store/formats/onnx.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "store/formats/onnx_tensor.h"
#include "store/formats/segments.h"
#include "store/formats/wire/protobuf_reader.h"

namespace re2po {
namespace {

constexpr std::string_view kFormat = "onnx";

// Field numbers from onnx.proto, grouped by message.
namespace model {
constexpr uint32_t kGraph = 7, kTrainingInfo = 20, kFunctions = 25;
}
namespace training {
constexpr uint32_t kInitialization = 1, kAlgorithm = 2;
}
namespace function {
constexpr uint32_t kNode = 7, kAttributeProto = 11;
}
namespace graph {
constexpr uint32_t kNode = 1, kName = 2, kInitializer = 5, kSparseInitializer = 15;
}
namespace node {
constexpr uint32_t kOutput = 2, kName = 3, kAttribute = 5;
}
namespace attribute {
constexpr uint32_t kName = 1, kTensor = 5, kGraph = 6, kTensors = 10, kGraphs = 11,
                   kSparseTensor = 22, kSparseTensors = 23;
}
namespace sparse {
constexpr uint32_t kValues = 1, kIndices = 2;
}

bool IsMessage(const ProtoField& field) { return field.wire_type == WireType::kLengthDelimited; }

// Calls `visit` for every length-delimited field of `message`.
template <typename Visit>
Status ForEachMessageField(const ProtoField& message, Visit&& visit) {
  ProtoReader reader(message);
  while (true) {
    ASSIGN_OR_RETURN(const std::optional<ProtoField> field, reader.Next());
    if (!field) return Status::Ok();
    if (IsMessage(*field)) RETURN_IF_ERROR(visit(*field));
  }
}

// The text of the first `number` field of `message`, or empty.
Result<std::string> FirstText(const ProtoField& message, uint32_t number) {
  std::string text;
  bool found = false;
  RETURN_IF_ERROR(ForEachMessageField(message, [&](const ProtoField& field) {
    if (field.number == number && !found) {
      text = std::string(PayloadText(field));
      found = true;
    }
    return Status::Ok();
  }));
  return text;
}

std::string Join(std::string_view owner, std::string_view leaf) {
  return owner.empty() ? std::string(leaf) : std::string(owner) + "/" + std::string(leaf);
}

// Walks a model and collects tensor segments. Each Walk* takes the depth of
// the message it is given, so hostile nesting stops at kMaxProtoDepth.
class OnnxWalker {
 public:
  Status WalkModel(ByteSpan bytes);
  Result<ParsedFile> Finish(uint64_t file_size) &&;

 private:
  Status WalkGraph(const ProtoField& graph, int depth);
  Status WalkNode(const ProtoField& node, std::string_view owner, int depth);
  Status WalkAttribute(const ProtoField& attribute, std::string_view owner, int depth);
  Status WalkTensor(const ProtoField& tensor, const std::string& fallback_name, int depth);
  Status WalkSparseTensor(const ProtoField& sparse, const std::string& fallback_name, int depth);
  Status WalkFunction(const ProtoField& function, int depth);
  Status WalkTrainingInfo(const ProtoField& training_info, int depth);

  bool saw_graph_ = false;
  std::vector<Segment> segments_;
  std::map<std::string, std::vector<Segment>> companions_;
};

Status OnnxWalker::WalkModel(ByteSpan bytes) {
  const ProtoField whole{.payload = bytes, .file_offset = 0};
  return ForEachMessageField(whole, [&](const ProtoField& field) {
    switch (field.number) {
      case model::kGraph:
        saw_graph_ = true;
        return WalkGraph(field, 1);
      case model::kTrainingInfo:
        return WalkTrainingInfo(field, 1);
      case model::kFunctions:
        saw_graph_ = true;
        return WalkFunction(field, 1);
      default:
        return Status::Ok();
    }
  });
}

Status OnnxWalker::WalkGraph(const ProtoField& graph_field, int depth) {
  RETURN_IF_ERROR(CheckProtoDepth(depth, "onnx graph"));
  ASSIGN_OR_RETURN(const std::string graph_name, FirstText(graph_field, graph::kName));
  return ForEachMessageField(graph_field, [&](const ProtoField& field) {
    switch (field.number) {
      case graph::kNode:
        return WalkNode(field, graph_name, depth + 1);
      case graph::kInitializer:
        return WalkTensor(field, Join(graph_name, "initializer"), depth + 1);
      case graph::kSparseInitializer:
        return WalkSparseTensor(field, Join(graph_name, "sparse_initializer"), depth + 1);
      default:
        return Status::Ok();
    }
  });
}

Status OnnxWalker::WalkNode(const ProtoField& node_field, std::string_view owner, int depth) {
  RETURN_IF_ERROR(CheckProtoDepth(depth, "onnx node"));
  // Unnamed attribute tensors are named after their node, else its first output.
  ASSIGN_OR_RETURN(std::string node_name, FirstText(node_field, node::kName));
  if (node_name.empty()) {
    ASSIGN_OR_RETURN(node_name, FirstText(node_field, node::kOutput));
  }
  const std::string node_path = Join(owner, node_name);
  return ForEachMessageField(node_field, [&](const ProtoField& field) {
    if (field.number != node::kAttribute) return Status::Ok();
    return WalkAttribute(field, node_path, depth + 1);
  });
}

Status OnnxWalker::WalkAttribute(const ProtoField& attribute_field, std::string_view owner,
                                 int depth) {
  RETURN_IF_ERROR(CheckProtoDepth(depth, "onnx attribute"));
  ASSIGN_OR_RETURN(const std::string attribute_name, FirstText(attribute_field, attribute::kName));
  const std::string path = Join(owner, attribute_name);
  int list_index = 0;
  return ForEachMessageField(attribute_field, [&](const ProtoField& field) {
    switch (field.number) {
      case attribute::kTensor:
        return WalkTensor(field, path, depth + 1);
      case attribute::kTensors:
        return WalkTensor(field, path + "/" + std::to_string(list_index++), depth + 1);
      case attribute::kGraph:
      case attribute::kGraphs:
        return WalkGraph(field, depth + 1);
      case attribute::kSparseTensor:
        return WalkSparseTensor(field, path, depth + 1);
      case attribute::kSparseTensors:
        return WalkSparseTensor(field, path + "/" + std::to_string(list_index++), depth + 1);
      default:
        return Status::Ok();
    }
  });
}

Status OnnxWalker::WalkTensor(const ProtoField& tensor_field, const std::string& fallback_name,
                              int depth) {
  RETURN_IF_ERROR(CheckProtoDepth(depth, "onnx tensor"));
  ASSIGN_OR_RETURN(const OnnxTensor tensor, ReadOnnxTensor(tensor_field));
  const std::string& name = tensor.name.empty() ? fallback_name : tensor.name;
  if (tensor.external) {
    companions_[tensor.external->location].push_back(OnnxExternalSegment(tensor, name));
    return Status::Ok();
  }
  for (Segment& segment : OnnxPayloadSegments(tensor, name)) {
    segments_.push_back(std::move(segment));
  }
  return Status::Ok();
}

Status OnnxWalker::WalkSparseTensor(const ProtoField& sparse_field,
                                    const std::string& fallback_name, int depth) {
  RETURN_IF_ERROR(CheckProtoDepth(depth, "onnx sparse tensor"));
  // The values tensor carries the sparse tensor's name; indices usually have none.
  std::string name = fallback_name;
  RETURN_IF_ERROR(ForEachMessageField(sparse_field, [&](const ProtoField& field) {
    if (field.number != sparse::kValues) return Status::Ok();
    ASSIGN_OR_RETURN(const OnnxTensor values, ReadOnnxTensor(field));
    if (!values.name.empty()) name = values.name;
    return Status::Ok();
  }));
  return ForEachMessageField(sparse_field, [&](const ProtoField& field) {
    if (field.number == sparse::kValues) return WalkTensor(field, name, depth + 1);
    if (field.number == sparse::kIndices) return WalkTensor(field, name + "/indices", depth + 1);
    return Status::Ok();
  });
}

Status OnnxWalker::WalkFunction(const ProtoField& function_field, int depth) {
  RETURN_IF_ERROR(CheckProtoDepth(depth, "onnx function"));
  ASSIGN_OR_RETURN(const std::string function_name, FirstText(function_field, 1));
  return ForEachMessageField(function_field, [&](const ProtoField& field) {
    if (field.number == function::kNode) return WalkNode(field, function_name, depth + 1);
    if (field.number == function::kAttributeProto) {
      return WalkAttribute(field, function_name, depth + 1);
    }
    return Status::Ok();
  });
}

Status OnnxWalker::WalkTrainingInfo(const ProtoField& training_field, int depth) {
  RETURN_IF_ERROR(CheckProtoDepth(depth, "onnx training_info"));
  return ForEachMessageField(training_field, [&](const ProtoField& field) {
    if (field.number == training::kInitialization || field.number == training::kAlgorithm) {
      saw_graph_ = true;
      return WalkGraph(field, depth + 1);
    }
    return Status::Ok();
  });
}

Result<ParsedFile> OnnxWalker::Finish(uint64_t file_size) && {
  if (!saw_graph_) return Status::Corruption("onnx: no graph or function (not an ONNX model)");
  ParsedFile parsed;
  parsed.format = std::string(kFormat);
  ASSIGN_OR_RETURN(parsed.segments,
                   SortedDisjointSegments(kFormat, std::move(segments_), file_size));
  for (auto& [path, segments] : companions_) {
    CompanionSegments companion;
    companion.relative_path = path;
    ASSIGN_OR_RETURN(companion.segments,
                     SortedDisjointSegments("onnx: external file '" + path + "'",
                                            std::move(segments), kUnknownFileSize));
    parsed.companions.push_back(std::move(companion));
  }
  return parsed;
}

}  // namespace

bool SniffOnnx(std::string_view file_name, ByteSpan /*head*/) {
  return file_name.ends_with(".onnx");
}

Result<ParsedFile> ParseOnnx(ByteSpan bytes) {
  OnnxWalker walker;
  RETURN_IF_ERROR(walker.WalkModel(bytes));
  return std::move(walker).Finish(bytes.size());
}

const FormatParser& OnnxFormat() {
  static const FormatParser parser{kFormat, &SniffOnnx, &ParseOnnx};
  return parser;
}

}  // namespace re2po
