// What a node knows of the versions it can serve, built from their version
// objects: an immutable snapshot, swapped whole when the catalog changes,
// so readers never lock.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/base/digest.h"
#include "store/catalog/catalog.h"
#include "store/fleet/version_object.h"

namespace re2po {

struct NodeChunk {
  const Digest* pack = nullptr;  // in the owning object's pack list
  ChunkLocation location;
};

struct NodeIndex {
  std::shared_ptr<const CatalogSnapshot> catalog;
  // Keeps the objects alive for the pointers below.
  std::map<std::pair<std::string, uint64_t>, std::shared_ptr<const VersionObject>> by_version;
  std::unordered_map<Digest, const VersionFile*, DigestHash> files;
  std::unordered_map<Digest, NodeChunk, DigestHash> chunks;
  // The chunk after each chunk in a file that holds it: what a read of the
  // chunk is likely to want next.
  std::unordered_map<Digest, Digest, DigestHash> next_in_file;
};

// Stable numbers for inodes: a model keeps its id and a version its seq for
// the life of the node cache.
struct NodeIds {
  std::map<std::string, uint64_t> models;
  std::map<std::pair<std::string, uint64_t>, uint64_t> versions;
  uint64_t next = 1;

  std::string Encode() const;
  static Result<NodeIds> Decode(std::string_view bytes);
};

// Builds the index of `objects` (by (model, version)); assigns ids to what
// is new in `ids`.
std::shared_ptr<const NodeIndex> BuildNodeIndex(
    uint64_t generation,
    const std::map<std::pair<std::string, uint64_t>, std::shared_ptr<const VersionObject>>& objects,
    NodeIds& ids);

}  // namespace re2po
