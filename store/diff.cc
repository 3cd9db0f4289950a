#include "store/diff.h"

#include <map>

#include "store/store.h"

namespace re2po {
namespace {

using ItemsByName = std::map<std::string, DiffItem>;

Status AddFileItems(Store& store, const TreeEntry& entry, const std::string& path,
                    ItemsByName& items) {
  ASSIGN_OR_RETURN(FileInfo info, store.FileDetails(entry.digest));
  if (info.tensors.empty()) {
    items[path] = {path, entry.digest, entry.size};
    return Status::Ok();
  }
  for (const TensorRecord& tensor : info.tensors) {
    std::string name = path + ":" + tensor.name;
    items[name] = {name, tensor.digest, tensor.length};
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

}  // namespace

Result<VersionDiff> DiffVersions(Store& store, const VersionRecord& a, const VersionRecord& b) {
  ASSIGN_OR_RETURN(ItemsByName items_a, ItemsOf(store, a));
  ASSIGN_OR_RETURN(ItemsByName items_b, ItemsOf(store, b));
  return Compare(items_a, items_b);
}

}  // namespace re2po
