#include "store/diff.h"

#include <map>

#include "store/store.h"
#include "store/tensor_storage.h"

namespace re2po {
namespace {

using ItemsByName = std::map<std::string, DiffItem>;

Status AddFileItems(Store& store, const TreeEntry& entry, const std::string& path,
                    ItemsByName& items) {
  ASSIGN_OR_RETURN(FileInfo info, store.FileDetails(entry.digest));
  if (info.tensors.empty()) {
    items[path] = {path, entry.digest, entry.size, "", entry.digest, std::nullopt};
    return Status::Ok();
  }
  for (const TensorRecord& tensor : info.tensors) {
    std::string name = path + ":" + tensor.name;
    items[name] = {name, tensor.digest, tensor.length, "", entry.digest, tensor};
  }
  return Status::Ok();
}

Result<ItemsByName> ItemsOf(Store& store, const VersionRecord& version) {
  ASSIGN_OR_RETURN(auto tree, store.Tree(version));
  ItemsByName items;
  for (uint32_t i = 1; i < tree->size(); ++i) {
    const TreeEntry& entry = tree->entry(i);
    if (entry.type != EntryType::kFile) continue;
    RETURN_IF_ERROR(AddFileItems(store, entry, tree->PathOf(i), items));
  }
  return items;
}

void Add(DiffGroup& group, const DiffItem& item) {
  group.items.push_back(item);
  group.bytes += item.bytes;
}

VersionDiff Compare(const ItemsByName& a, const ItemsByName& b) {
  VersionDiff diff;
  for (const auto& [name, item] : a) {
    auto in_b = b.find(name);
    if (in_b == b.end()) {
      Add(diff.removed, item);
    } else if (in_b->second.digest == item.digest) {
      Add(diff.shared, in_b->second);
    } else {
      Add(diff.changed, in_b->second);
    }
  }
  for (const auto& [name, item] : b) {
    if (!a.contains(name)) Add(diff.added, item);
  }
  return diff;
}

Status DescribeStorage(Store& store, TensorStorageView& view, DiffGroup& group) {
  std::map<Digest, std::shared_ptr<const Recipe>> recipes;
  for (DiffItem& item : group.items) {
    if (!item.tensor) continue;
    auto [at, fresh] = recipes.try_emplace(item.file);
    if (fresh) {
      ASSIGN_OR_RETURN(at->second, store.FileRecipe(item.file));
    }
    ASSIGN_OR_RETURN(TensorStorage stored, view.Describe(*at->second, *item.tensor));
    item.stored = stored.Text();
  }
  return Status::Ok();
}

}  // namespace

Result<VersionDiff> DiffVersions(Store& store, const VersionRecord& a, const VersionRecord& b,
                                 const DiffOptions& options) {
  ASSIGN_OR_RETURN(ItemsByName items_a, ItemsOf(store, a));
  ASSIGN_OR_RETURN(ItemsByName items_b, ItemsOf(store, b));
  VersionDiff diff = Compare(items_a, items_b);
  if (options.describe_storage) {
    ASSIGN_OR_RETURN(TensorStorageView view, TensorStorageView::Build(store));
    RETURN_IF_ERROR(DescribeStorage(store, view, diff.changed));
    RETURN_IF_ERROR(DescribeStorage(store, view, diff.added));
  }
  return diff;
}

}  // namespace re2po
