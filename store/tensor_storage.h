// How each tensor is stored (issue #18): whole, as a delta of a tensor of
// another version, or derived from one (a cast, a quantization, a
// per-channel rescaling), and which tensor that is, for `re2po show
// --tensors`. A tensor's pieces may be stored differently; the way that
// covers most of them is reported, with how many it covers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "store/base/digest.h"
#include "store/base/status.h"
#include "store/catalog/records.h"

namespace re2po {

class Store;

// How a chunk with a base is stored, from its value: "delta", a
// derivation's name ("cast f16", "permuted"), or "sealed delta or
// derivation" when only key holders may learn which.
Result<std::string> StorageKindOf(std::string_view value);

struct TensorStorage {
  std::string how;   // "whole", "delta", "cast f16", "quantized i8", "sealed", ...
  std::string base;  // "model@version:tensor" of the first base piece, or empty
  uint64_t pieces = 0;
  uint64_t pieces_stored_so = 0;  // of `pieces`, stored as `how`

  std::string Text() const;  // "cast f16 of net@1:fc.weight (3 of 4 pieces)"
};

class TensorStorageView {
 public:
  // Indexes which tensor of which version holds each chunk: one pass over
  // every version's file recipes, no chunk is read.
  static Result<TensorStorageView> Build(Store& store);

  // Reads the values of the tensor's pieces that have a base (small: a
  // residual), to tell deltas from derivations.
  Result<TensorStorage> Describe(const Recipe& recipe, const TensorRecord& tensor);

 private:
  explicit TensorStorageView(Store& store) : store_(&store) {}

  Store* store_;
  std::unordered_map<Digest, std::string, DigestHash> owners_;
};

}  // namespace re2po
