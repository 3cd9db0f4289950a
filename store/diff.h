// What changed between two versions, tensor by tensor: what a fine-tune
// really touched. A file the parsers cut into tensors is compared tensor by
// tensor ("path:tensor"), any other file whole ("path"); two items are the
// same when their content digests are. The versions may be of different
// models.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/base/digest.h"
#include "store/base/status.h"
#include "store/catalog/records.h"

namespace re2po {

class Store;

struct DiffItem {
  std::string name;  // "path:tensor", or "path" for a file without tensors
  Digest digest;
  uint64_t bytes = 0;
  // With DiffOptions::describe_storage, for b's changed and added tensors:
  // how the tensor is stored ("delta of m@1:fc.weight", "cast f16 of ...").
  std::string stored;
  Digest file;                         // the file holding the tensor
  std::optional<TensorRecord> tensor;  // unset for a file without tensors
};

// Items in name order, and their bytes summed.
struct DiffGroup {
  std::vector<DiffItem> items;
  uint64_t bytes = 0;
};

struct VersionDiff {
  DiffGroup shared;   // in both with the same content (b's items)
  DiffGroup changed;  // in both with different content (b's items and bytes)
  DiffGroup added;    // only in b
  DiffGroup removed;  // only in a
};

struct DiffOptions {
  // Say how b's changed and added tensors are stored: one pass over every
  // version's recipes, and a read of each of their pieces that has a base.
  bool describe_storage = false;
};

// Compares version `a` with version `b` (a -> b) of `store`.
Result<VersionDiff> DiffVersions(Store& store, const VersionRecord& a, const VersionRecord& b,
                                 const DiffOptions& options = {});

}  // namespace re2po
