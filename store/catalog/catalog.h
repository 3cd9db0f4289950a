// The reader's view of the catalog: an immutable snapshot of every model and
// version, swapped whole when writers commit. Readers copy the shared_ptr and
// never lock.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/catalog/records.h"

namespace re2po {

struct ModelEntry {
  std::string name;
  uint64_t id = 0;  // assigned at the model's first import; stable until it is removed
  ModelAccess access;
  std::vector<VersionRecord> versions;  // ascending by version number

  const VersionRecord* Find(uint64_t version) const;
  const VersionRecord* Latest() const { return versions.empty() ? nullptr : &versions.back(); }
};

class CatalogSnapshot {
 public:
  CatalogSnapshot(uint64_t generation, std::vector<ModelEntry> models);

  uint64_t generation() const { return generation_; }
  const std::vector<ModelEntry>& models() const { return models_; }  // sorted by name
  const ModelEntry* FindModel(std::string_view name) const;
  const VersionRecord* FindVersion(std::string_view model, uint64_t version) const;

 private:
  uint64_t generation_;
  std::vector<ModelEntry> models_;
};

}  // namespace re2po
