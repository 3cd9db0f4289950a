// What a torch.save object pickle says about its storages: the persistent id
// ('storage', torch.<Type>Storage, key, location, numel[, view]) gives each
// storage's element type and count, and the state-dict key of a tensor that
// views it gives a readable name. Shared by the zip and legacy readers.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/base/dtype.h"
#include "store/formats/wire/pickle_reader.h"

namespace re2po {

struct TorchStorageType {
  DType dtype = DType::kUnknown;
  uint32_t itemsize = 0;  // 0: unknown type
};

// "FloatStorage" (with or without a "torch." / "torch.cuda." prefix).
TorchStorageType LookupTorchStorageType(std::string_view storage_type);

struct TorchStorageInfo {
  std::string storage_type;  // "FloatStorage"
  TorchStorageType type;
  int64_t numel = 0;
  std::string tensor_name;     // first state-dict key seen using it; may be empty
  std::vector<int64_t> shape;  // that tensor's size when it covers the whole storage
};

using TorchStorageMap = std::map<std::string, TorchStorageInfo>;

// Collects every storage persistent id in the pickle, then walks the object
// graph (depth- and budget-limited) to name them. Fails on contradictory ids.
Result<TorchStorageMap> CollectTorchStorages(const Pickle& pickle);

}  // namespace re2po
