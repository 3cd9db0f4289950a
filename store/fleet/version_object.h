// A version as a remote keeps it: one immutable object, named by the
// SHA-256 of its bytes, holding everything a node needs to serve the
// version except chunk bytes: its record and tree, the recipe and file info
// of each of its files, and where each chunk it reads lies (which pack, at
// which offset, how long), delta bases included. docs/format.md, "Remotes".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/base/digest.h"
#include "store/base/status.h"
#include "store/catalog/records.h"
#include "store/remote/object_store.h"

namespace re2po {

// Chunk values larger than this are refused: the writer cuts chunks of at
// most a few MiB, so anything bigger is damage or hostility.
inline constexpr uint64_t kMaxRemoteChunkValue = uint64_t{64} << 20;

struct ChunkLocation {
  uint32_t pack = 0;  // index into VersionObject::packs
  uint64_t offset = 0;
  uint64_t length = 0;  // of the stored value in the pack
  ChunkInfo info;
};

struct VersionFile {
  Digest digest;
  Recipe recipe;
  FileInfo info;
};

struct VersionObject {
  VersionRecord record;  // model and version included
  VersionTree tree;
  std::vector<VersionFile> files;  // sorted by digest once decoded
  std::vector<Digest> packs;
  std::unordered_map<Digest, ChunkLocation, DigestHash> chunks;

  std::string Encode() const;
  // Bounds-checked; refuses an object whose recipes or delta bases name a
  // chunk it does not locate, or whose locations name a pack it lacks.
  static Result<VersionObject> Decode(std::string_view bytes);

  // In a decoded object (files sorted).
  const VersionFile* FindFile(const Digest& digest) const;
};

// Fetches versions/<name> and decodes it, refusing bytes that do not hash
// to the name: a node trusts no object it has not checked.
Result<VersionObject> FetchVersionObject(ObjectStore& remote, const Digest& name);

}  // namespace re2po
