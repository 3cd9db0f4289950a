// What a node knows of the versions it can serve, built from their version
// objects: an immutable snapshot, swapped whole when the catalog changes,
// so readers never lock.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/base/digest.h"
#include "store/catalog/catalog.h"
#include "store/fleet/signed_catalog.h"
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
  // The chunk after each chunk in the files that hold it: what a read of the
  // chunk is likely to want next. Empty where files disagree (a backbone's
  // last layer is followed by each fine-tune's own head): fetching one
  // file's successor would cost a reader of another file bytes it never reads.
  std::unordered_map<Digest, std::optional<Digest>, DigestHash> next_in_file;
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

// Builds the index of `objects` (by (model, version)), each model with its
// `access` as the remote carries it; assigns ids to what is new in `ids`.
std::shared_ptr<const NodeIndex> BuildNodeIndex(
    uint64_t generation,
    const std::map<std::pair<std::string, uint64_t>, std::shared_ptr<const VersionObject>>& objects,
    const std::map<std::string, AccessEntry>& access, NodeIds& ids);

}  // namespace re2po
