#include "store/fleet/node_index.h"

#include <set>

#include "store/base/coding.h"

namespace re2po {

std::string NodeIds::Encode() const {
  std::string out;
  PutVarint(out, next);
  PutVarint(out, models.size());
  for (const auto& [name, id] : models) {
    PutLengthPrefixed(out, name);
    PutVarint(out, id);
  }
  PutVarint(out, versions.size());
  for (const auto& [key, seq] : versions) {
    PutLengthPrefixed(out, key.first);
    PutVarint(out, key.second);
    PutVarint(out, seq);
  }
  return out;
}

Result<NodeIds> NodeIds::Decode(std::string_view bytes) {
  Decoder decoder(bytes, "node ids");
  NodeIds ids;
  uint64_t count = 0;
  RETURN_IF_ERROR(decoder.GetVarint(ids.next));
  RETURN_IF_ERROR(decoder.GetVarint(count));
  for (uint64_t i = 0; i < count; ++i) {
    std::string name;
    uint64_t id = 0;
    RETURN_IF_ERROR(decoder.GetString(name));
    RETURN_IF_ERROR(decoder.GetVarint(id));
    ids.models[name] = id;
  }
  RETURN_IF_ERROR(decoder.GetVarint(count));
  for (uint64_t i = 0; i < count; ++i) {
    std::string name;
    uint64_t version = 0;
    uint64_t seq = 0;
    RETURN_IF_ERROR(decoder.GetString(name));
    RETURN_IF_ERROR(decoder.GetVarint(version));
    RETURN_IF_ERROR(decoder.GetVarint(seq));
    ids.versions[{name, version}] = seq;
  }
  return ids;
}

namespace {

void IndexObject(const std::shared_ptr<const VersionObject>& object, NodeIndex& index) {
  for (const VersionFile& file : object->files) {
    index.files.try_emplace(file.digest, &file);
    const std::vector<Extent>& extents = file.recipe.extents;
    for (size_t i = 0; i + 1 < extents.size(); ++i) {
      auto [next, added] = index.next_in_file.try_emplace(extents[i].chunk, extents[i + 1].chunk);
      if (!added && next->second != extents[i + 1].chunk) next->second.reset();
    }
  }
  for (const auto& [digest, location] : object->chunks) {
    index.chunks.try_emplace(digest, NodeChunk{&object->packs[location.pack], location});
  }
}

uint64_t IdFor(std::map<std::string, uint64_t>& ids, const std::string& name, uint64_t& next) {
  auto [it, added] = ids.try_emplace(name, next);
  if (added) ++next;
  return it->second;
}

}  // namespace

std::shared_ptr<const NodeIndex> BuildNodeIndex(
    uint64_t generation,
    const std::map<std::pair<std::string, uint64_t>, std::shared_ptr<const VersionObject>>& objects,
    const std::map<std::string, AccessEntry>& access, NodeIds& ids) {
  auto index = std::make_shared<NodeIndex>();
  std::map<std::string, ModelEntry> models;
  std::set<const VersionObject*> indexed;
  for (const auto& [key, object] : objects) {
    index->by_version[key] = object;
    if (indexed.insert(object.get()).second) IndexObject(object, *index);
    ModelEntry& model = models[key.first];
    model.name = key.first;
    model.id = IdFor(ids.models, key.first, ids.next);
    if (auto it = access.find(key.first); it != access.end()) model.access = it->second.access;
    VersionRecord record = object->record;
    auto [seq, added] = ids.versions.try_emplace(key, ids.next);
    if (added) ++ids.next;
    record.seq = seq->second;
    model.versions.push_back(std::move(record));  // `objects` is sorted by version
  }
  std::vector<ModelEntry> sorted;
  for (auto& [name, model] : models) sorted.push_back(std::move(model));
  index->catalog = std::make_shared<const CatalogSnapshot>(generation, std::move(sorted));
  return index;
}

}  // namespace re2po
