#include "store/formats/torch_pickle.h"

#include <array>
#include <utility>

namespace re2po {
namespace {

using Kind = PickleValue::Kind;

struct NamedType {
  std::string_view name;
  TorchStorageType type;
};

constexpr std::array<NamedType, 25> kStorageTypes = {{
    {"FloatStorage", {DType::kF32, 4}},
    {"DoubleStorage", {DType::kF64, 8}},
    {"HalfStorage", {DType::kF16, 2}},
    {"BFloat16Storage", {DType::kBF16, 2}},
    {"LongStorage", {DType::kI64, 8}},
    {"IntStorage", {DType::kI32, 4}},
    {"ShortStorage", {DType::kI16, 2}},
    {"CharStorage", {DType::kI8, 1}},
    {"ByteStorage", {DType::kU8, 1}},
    {"BoolStorage", {DType::kBool, 1}},
    {"ComplexFloatStorage", {DType::kComplex64, 8}},
    {"ComplexDoubleStorage", {DType::kComplex128, 16}},
    {"UInt16Storage", {DType::kU16, 2}},
    {"UInt32Storage", {DType::kU32, 4}},
    {"UInt64Storage", {DType::kU64, 8}},
    {"Float8_e5m2Storage", {DType::kF8, 1}},
    {"Float8_e4m3fnStorage", {DType::kF8, 1}},
    {"Float8_e5m2fnuzStorage", {DType::kF8, 1}},
    {"Float8_e4m3fnuzStorage", {DType::kF8, 1}},
    // torch.ao's quantized tensors: the int8 / uint8 values, with their
    // scales and zero points elsewhere in the pickle.
    {"QInt8Storage", {DType::kI8, 1}},
    {"QUInt8Storage", {DType::kU8, 1}},
    {"QInt32Storage", {DType::kQuantized, 4}},
    {"QUInt4x2Storage", {DType::kQuantized, 1}},
    {"QUInt2x4Storage", {DType::kQuantized, 1}},
    {"UntypedStorage", {DType::kU8, 1}},
}};

constexpr int kMaxDepth = 48;
constexpr uint64_t kWalkBudget = uint64_t{1} << 20;
constexpr size_t kMaxPathBytes = 4096;  // longer state-dict keys are not names anyone uses

std::string_view BaseName(std::string_view global) {
  const size_t dot = global.rfind('.');
  return dot == std::string_view::npos ? global : global.substr(dot + 1);
}

bool IsString(const Pickle& p, uint32_t v) { return p.at(v).kind == Kind::kString; }

// ('storage', <global>, key, location, numel, ...) -> key, fills info.
std::optional<std::string> ReadPersistentId(const Pickle& p, const PickleValue& persid,
                                            TorchStorageInfo& info) {
  if (persid.items.size() != 1) return std::nullopt;
  const PickleValue& pid = p.at(persid.items[0]);
  if (pid.kind != Kind::kTuple || pid.items.size() < 5) return std::nullopt;
  const auto& f = pid.items;
  if (!IsString(p, f[0]) || p.at(f[0]).text != "storage") return std::nullopt;
  if (p.at(f[1]).kind != Kind::kGlobal || !IsString(p, f[2])) return std::nullopt;
  if (p.at(f[4]).kind != Kind::kInt || p.at(f[4]).integer < 0) return std::nullopt;
  info.storage_type = std::string(BaseName(p.at(f[1]).text));
  info.type = LookupTorchStorageType(info.storage_type);
  info.numel = p.at(f[4]).integer;
  return p.at(f[2]).text;
}

class NameWalker {
 public:
  NameWalker(const Pickle& pickle, TorchStorageMap& storages)
      : p_(pickle), storages_(storages), walked_(pickle.values.size(), false) {}

  // Objects shared through the memo are walked once, by the first path that
  // reaches them (the one that names their tensors): a DAG of shared lists
  // has exponentially many paths.
  void Walk(uint32_t v, const std::string& path, int depth) {
    if (depth > kMaxDepth || budget_ == 0 || path.size() > kMaxPathBytes) return;
    if (v < walked_.size()) {
      if (walked_[v]) return;
      walked_[v] = true;
    }
    --budget_;
    const PickleValue& value = p_.at(v);
    if (value.kind == Kind::kCall || value.kind == Kind::kPersId) {
      if (std::optional<uint32_t> persid = StorageOf(v, 0)) {
        Name(*persid, path, v);
        return;
      }
    }
    for (size_t i = 0; i + 1 < value.entries.size(); i += 2) {
      const PickleValue& key = p_.at(value.entries[i]);
      if (key.kind == Kind::kString) Walk(value.entries[i + 1], Join(path, key.text), depth + 1);
    }
    if (value.kind == Kind::kList || value.kind == Kind::kTuple) {
      for (size_t i = 0; i < value.items.size(); ++i) {
        Walk(value.items[i], Join(path, std::to_string(i)), depth + 1);
      }
    }
  }

 private:
  static std::string Join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  // Follows _rebuild_tensor_v2(storage, ...) and _rebuild_parameter(tensor,
  // ...) through their first argument down to the persistent id.
  std::optional<uint32_t> StorageOf(uint32_t v, int depth) const {
    const PickleValue& value = p_.at(v);
    if (value.kind == Kind::kPersId) return v;
    if (value.kind != Kind::kCall || depth > 8 || value.items.size() != 2) return std::nullopt;
    const PickleValue& args = p_.at(value.items[1]);
    if (args.kind != Kind::kTuple || args.items.empty()) return std::nullopt;
    return StorageOf(args.items[0], depth + 1);
  }

  void Name(uint32_t persid, const std::string& path, uint32_t tensor) {
    TorchStorageInfo scratch;
    const std::optional<std::string> key = ReadPersistentId(p_, p_.at(persid), scratch);
    if (!key || path.empty()) return;
    auto it = storages_.find(*key);
    if (it == storages_.end() || !it->second.tensor_name.empty()) return;
    it->second.tensor_name = path;
    it->second.shape = WholeStorageShape(tensor, it->second.numel);
  }

  // The size tuple of _rebuild_tensor_v2(storage, offset, size, stride, ...)
  // or _rebuild_qtensor(storage, offset, size, stride, quantizer, ...) when
  // the tensor starts at 0 and spans the storage exactly.
  std::vector<int64_t> WholeStorageShape(uint32_t tensor, int64_t numel) const {
    const PickleValue& call = p_.at(tensor);
    if (call.kind != Kind::kCall || call.items.size() != 2) return {};
    const std::string_view rebuild = BaseName(p_.at(call.items[0]).text);
    if (!rebuild.starts_with("_rebuild_tensor") && rebuild != "_rebuild_qtensor") return {};
    const PickleValue& args = p_.at(call.items[1]);
    if (args.kind != Kind::kTuple || args.items.size() < 3) return {};
    const PickleValue& offset = p_.at(args.items[1]);
    const PickleValue& size = p_.at(args.items[2]);
    if (offset.kind != Kind::kInt || offset.integer != 0 || size.kind != Kind::kTuple) return {};
    std::vector<int64_t> shape;
    int64_t product = 1;
    for (uint32_t dim : size.items) {
      const PickleValue& d = p_.at(dim);
      if (d.kind != Kind::kInt || d.integer < 0) return {};
      if (d.integer != 0 && product > numel / d.integer) return {};
      product *= d.integer;
      shape.push_back(d.integer);
    }
    return product == numel ? shape : std::vector<int64_t>{};
  }

  const Pickle& p_;
  TorchStorageMap& storages_;
  uint64_t budget_ = kWalkBudget;
  std::vector<bool> walked_;  // by value index
};

}  // namespace

TorchStorageType LookupTorchStorageType(std::string_view storage_type) {
  const std::string_view base = BaseName(storage_type);
  for (const NamedType& entry : kStorageTypes) {
    if (entry.name == base) return entry.type;
  }
  return {};
}

Result<TorchStorageMap> CollectTorchStorages(const Pickle& pickle) {
  TorchStorageMap storages;
  for (const PickleValue& value : pickle.values) {
    if (value.kind != Kind::kPersId) continue;
    TorchStorageInfo info;
    std::optional<std::string> key = ReadPersistentId(pickle, value, info);
    if (!key) continue;
    auto [it, inserted] = storages.emplace(std::move(*key), info);
    if (!inserted &&
        (it->second.storage_type != info.storage_type || it->second.numel != info.numel)) {
      return Status::Corruption("pickle: storage '" + it->first +
                                "' is referenced with two different types or sizes");
    }
  }
  NameWalker(pickle, storages).Walk(pickle.root, "", 0);
  return storages;
}

}  // namespace re2po
