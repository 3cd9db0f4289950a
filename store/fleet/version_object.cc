#include "store/fleet/version_object.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "store/base/coding.h"
#include "store/fleet/remote_keys.h"

namespace re2po {
namespace {

constexpr std::string_view kMagic = "R2VO";
constexpr uint8_t kFormat = 1;

void EncodeFiles(const std::vector<VersionFile>& files, std::string& out) {
  std::vector<const VersionFile*> sorted;
  for (const VersionFile& file : files) sorted.push_back(&file);
  std::sort(sorted.begin(), sorted.end(),
            [](const VersionFile* a, const VersionFile* b) { return a->digest < b->digest; });
  PutVarint(out, sorted.size());
  for (const VersionFile* each : sorted) {
    const VersionFile& file = *each;
    out.append(file.digest.view());
    PutLengthPrefixed(out, file.recipe.Encode());
    PutLengthPrefixed(out, file.info.Encode());
  }
}

void EncodeChunks(const VersionObject& object, std::string& out) {
  PutVarint(out, object.packs.size());
  for (const Digest& pack : object.packs) out.append(pack.view());
  // Sorted, so equal versions encode to equal bytes (and names).
  std::map<Digest, const ChunkLocation*> sorted;
  for (const auto& [digest, location] : object.chunks) sorted.emplace(digest, &location);
  PutVarint(out, sorted.size());
  for (const auto& [digest, location] : sorted) {
    out.append(digest.view());
    PutVarint(out, location->pack);
    PutVarint(out, location->offset);
    PutVarint(out, location->length);
    PutLengthPrefixed(out, location->info.Encode());
  }
}

Status DecodeFiles(Decoder& decoder, std::vector<VersionFile>& files) {
  uint64_t count = 0;
  RETURN_IF_ERROR(decoder.GetCount(34, count));
  files.resize(count);
  for (VersionFile& file : files) {
    std::string_view recipe;
    std::string_view info;
    RETURN_IF_ERROR(decoder.GetDigest(file.digest));
    RETURN_IF_ERROR(decoder.GetLengthPrefixed(recipe));
    RETURN_IF_ERROR(decoder.GetLengthPrefixed(info));
    ASSIGN_OR_RETURN(file.recipe, Recipe::Decode(recipe));
    ASSIGN_OR_RETURN(file.info, FileInfo::Decode(info));
  }
  return Status::Ok();
}

Status DecodeLocation(Decoder& decoder, size_t pack_count, ChunkLocation& location) {
  uint64_t pack = 0;
  std::string_view info;
  RETURN_IF_ERROR(decoder.GetVarint(pack));
  RETURN_IF_ERROR(decoder.GetVarint(location.offset));
  RETURN_IF_ERROR(decoder.GetVarint(location.length));
  RETURN_IF_ERROR(decoder.GetLengthPrefixed(info));
  if (pack >= pack_count) return Status::Corruption("chunk location names a missing pack");
  if (location.length == 0 || location.length > kMaxRemoteChunkValue ||
      location.offset > UINT64_MAX - location.length) {
    return Status::Corruption("chunk location has an impossible length");
  }
  location.pack = static_cast<uint32_t>(pack);
  ASSIGN_OR_RETURN(location.info, ChunkInfo::Decode(info));
  return Status::Ok();
}

Status DecodeChunks(Decoder& decoder, VersionObject& object) {
  uint64_t pack_count = 0;
  RETURN_IF_ERROR(decoder.GetCount(32, pack_count));
  object.packs.resize(pack_count);
  for (Digest& pack : object.packs) RETURN_IF_ERROR(decoder.GetDigest(pack));
  uint64_t chunk_count = 0;
  RETURN_IF_ERROR(decoder.GetCount(36, chunk_count));
  object.chunks.reserve(chunk_count);
  for (uint64_t i = 0; i < chunk_count; ++i) {
    Digest digest;
    ChunkLocation location;
    RETURN_IF_ERROR(decoder.GetDigest(digest));
    RETURN_IF_ERROR(DecodeLocation(decoder, object.packs.size(), location));
    if (!object.chunks.emplace(digest, location).second) {
      return Status::Corruption("version object locates a chunk twice");
    }
  }
  return Status::Ok();
}

// Every chunk a read of this version can need is located: those of each
// recipe, and the bases of delta chunks.
Status CheckClosed(const VersionObject& object) {
  for (const VersionFile& file : object.files) {
    for (const Extent& extent : file.recipe.extents) {
      auto it = object.chunks.find(extent.chunk);
      if (it == object.chunks.end()) {
        return Status::Corruption("version object lacks the location of chunk " +
                                  extent.chunk.Hex());
      }
      for (const Digest& base : it->second.info.Bases()) {
        if (!object.chunks.contains(base)) {
          return Status::Corruption("version object lacks a base of delta chunk " +
                                    extent.chunk.Hex());
        }
      }
    }
  }
  for (const TreeEntry& entry : object.tree.entries()) {
    if (entry.type == EntryType::kFile && object.FindFile(entry.digest) == nullptr) {
      return Status::Corruption("version object lacks the recipe of file " + entry.digest.Hex());
    }
  }
  return Status::Ok();
}

}  // namespace

std::string VersionObject::Encode() const {
  std::string out(kMagic);
  out.push_back(static_cast<char>(kFormat));
  PutLengthPrefixed(out, record.model);
  PutVarint(out, record.version);
  PutLengthPrefixed(out, record.Encode());
  PutLengthPrefixed(out, tree.Encode());
  EncodeFiles(files, out);
  EncodeChunks(*this, out);
  return out;
}

Result<VersionObject> VersionObject::Decode(std::string_view bytes) {
  if (!bytes.starts_with(kMagic)) return Status::Corruption("not a re2po version object");
  Decoder decoder(bytes.substr(kMagic.size()), "version object");
  uint8_t format = 0;
  RETURN_IF_ERROR(decoder.GetByte(format));
  if (format != kFormat) {
    return Status::Unsupported("version object format " + std::to_string(format));
  }
  VersionObject object;
  std::string model;
  uint64_t version = 0;
  std::string_view record;
  std::string_view tree;
  RETURN_IF_ERROR(decoder.GetString(model));
  RETURN_IF_ERROR(decoder.GetVarint(version));
  RETURN_IF_ERROR(decoder.GetLengthPrefixed(record));
  RETURN_IF_ERROR(decoder.GetLengthPrefixed(tree));
  ASSIGN_OR_RETURN(object.record, VersionRecord::Decode(model, version, record));
  ASSIGN_OR_RETURN(object.tree, VersionTree::Decode(tree));
  RETURN_IF_ERROR(DecodeFiles(decoder, object.files));
  RETURN_IF_ERROR(DecodeChunks(decoder, object));
  if (!decoder.done()) return Status::Corruption("version object has trailing bytes");
  std::sort(object.files.begin(), object.files.end(),
            [](const VersionFile& a, const VersionFile& b) { return a.digest < b.digest; });
  if (object.tree.ComputeDigest() != object.record.digest) {
    return Status::Corruption("version object's tree does not match its record's digest");
  }
  RETURN_IF_ERROR(CheckClosed(object));
  return object;
}

const VersionFile* VersionObject::FindFile(const Digest& digest) const {
  auto it =
      std::lower_bound(files.begin(), files.end(), digest,
                       [](const VersionFile& file, const Digest& d) { return file.digest < d; });
  return it != files.end() && it->digest == digest ? &*it : nullptr;
}

Result<VersionObject> FetchVersionObject(ObjectStore& remote, const Digest& name) {
  const std::string key = remote_keys::Version(name);
  ASSIGN_OR_RETURN(std::string bytes, remote.Get(key));
  if (Sha256Of(bytes) != name) {
    return Status::Corruption(key + " does not hash to its name: damaged or substituted");
  }
  Result<VersionObject> object = VersionObject::Decode(bytes);
  if (!object.ok()) return object.status().WithContext(key);
  return object;
}

}  // namespace re2po
