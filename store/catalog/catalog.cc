#include "store/catalog/catalog.h"

#include <algorithm>

namespace re2po {

const VersionRecord* ModelEntry::Find(uint64_t version) const {
  auto it = std::lower_bound(versions.begin(), versions.end(), version,
                             [](const VersionRecord& r, uint64_t v) { return r.version < v; });
  if (it == versions.end() || it->version != version) return nullptr;
  return &*it;
}

CatalogSnapshot::CatalogSnapshot(uint64_t generation, std::vector<ModelEntry> models)
    : generation_(generation), models_(std::move(models)) {}

const ModelEntry* CatalogSnapshot::FindModel(std::string_view name) const {
  auto it = std::lower_bound(models_.begin(), models_.end(), name,
                             [](const ModelEntry& m, std::string_view n) { return m.name < n; });
  if (it == models_.end() || it->name != name) return nullptr;
  return &*it;
}

const VersionRecord* CatalogSnapshot::FindVersion(std::string_view model, uint64_t version) const {
  const ModelEntry* entry = FindModel(model);
  return entry ? entry->Find(version) : nullptr;
}

}  // namespace re2po
