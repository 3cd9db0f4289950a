#include "store/tensor_storage.h"

#include <map>
#include <optional>

#include "store/chunks/codec.h"
#include "store/store.h"

namespace re2po {
namespace {

struct PieceStorage {
  std::string how;
  std::optional<Digest> base;
};

// "delta", "cast f16", ...; with `axes`, a permutation's axes after its
// name ("permuted 2,3,1,0", as numpy.transpose takes them).
Result<std::string> KindOf(std::string_view value, bool axes) {
  ASSIGN_OR_RETURN(ChunkValue parsed, ParseChunkValue(value));
  switch (parsed.codec) {
    case CodecId::kDerived: {
      ASSIGN_OR_RETURN(DerivedPayload derived, ParseDerivedPayload(parsed.payload));
      std::string how(DerivationName(derived.transform.kind));
      for (size_t i = 0; axes && i < derived.transform.axes.size(); ++i) {
        how += (i == 0 ? " " : ",") + std::to_string(derived.transform.axes[i]);
      }
      return how;
    }
    case CodecId::kSealed:
      // Which of the two a sealed piece is, only its key holders may learn.
      return std::string("sealed delta or derivation");
    default:
      return std::string("delta");
  }
}

Result<PieceStorage> DescribePiece(Store& store, const Digest& chunk) {
  ASSIGN_OR_RETURN(ChunkInfo info, store.ChunkDetails(chunk));
  if (!info.base) return PieceStorage{"whole", std::nullopt};
  ASSIGN_OR_RETURN(std::string value, store.StoredChunkValue(chunk));
  ASSIGN_OR_RETURN(std::string how, KindOf(value, /*axes=*/true));
  return PieceStorage{std::move(how), info.base};
}

}  // namespace

Result<std::string> StorageKindOf(std::string_view value) { return KindOf(value, /*axes=*/false); }

std::string TensorStorage::Text() const {
  std::string text = how;
  if (!base.empty()) text += " of " + base;
  if (pieces_stored_so < pieces) {
    text += " (" + std::to_string(pieces_stored_so) + " of " + std::to_string(pieces) + " pieces)";
  }
  return text;
}

Result<TensorStorageView> TensorStorageView::Build(Store& store) {
  TensorStorageView view(store);
  const auto catalog = store.Catalog();  // the range-for would not keep it alive
  for (const ModelEntry& model : catalog->models()) {
    for (const VersionRecord& version : model.versions) {
      ASSIGN_OR_RETURN(auto tree, store.Tree(version));
      const std::string prefix = model.name + "@" + std::to_string(version.version) + ":";
      for (const TreeEntry& entry : tree->entries()) {
        if (entry.type != EntryType::kFile) continue;
        ASSIGN_OR_RETURN(FileInfo info, store.FileDetails(entry.digest));
        if (info.tensors.empty()) continue;
        ASSIGN_OR_RETURN(auto recipe, store.FileRecipe(entry.digest));
        for (const TensorRecord& tensor : info.tensors) {
          if (tensor.length == 0 || tensor.offset + tensor.length > recipe->size()) continue;
          for (size_t i = recipe->ExtentAt(tensor.offset);
               i < recipe->extents.size() && recipe->StartOf(i) < tensor.offset + tensor.length;
               ++i) {
            view.owners_.try_emplace(recipe->extents[i].chunk, prefix + tensor.name);
          }
        }
      }
    }
  }
  return view;
}

Result<TensorStorage> TensorStorageView::Describe(const Recipe& recipe,
                                                  const TensorRecord& tensor) {
  TensorStorage storage;
  if (tensor.length == 0 || tensor.offset + tensor.length > recipe.size()) {
    storage.how = "whole";
    return storage;
  }
  std::map<std::string, uint64_t> counts;
  std::map<std::string, Digest> first_base;
  for (size_t i = recipe.ExtentAt(tensor.offset);
       i < recipe.extents.size() && recipe.StartOf(i) < tensor.offset + tensor.length; ++i) {
    ASSIGN_OR_RETURN(PieceStorage piece, DescribePiece(*store_, recipe.extents[i].chunk));
    ++counts[piece.how];
    if (piece.base) first_base.try_emplace(piece.how, *piece.base);
    ++storage.pieces;
  }
  for (const auto& [how, count] : counts) {
    if (count > storage.pieces_stored_so) {
      storage.how = how;
      storage.pieces_stored_so = count;
    }
  }
  if (auto base = first_base.find(storage.how); base != first_base.end()) {
    auto owner = owners_.find(base->second);
    storage.base = owner != owners_.end() ? owner->second : "chunk " + base->second.Hex();
  }
  return storage;
}

}  // namespace re2po
