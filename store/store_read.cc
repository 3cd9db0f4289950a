#include <rocksdb/db.h>

#include <algorithm>
#include <cstring>

#include "store/coding.h"
#include "store/keys.h"
#include "store/log.h"
#include "store/store_impl.h"

namespace re2po {
namespace {

// Caches of immutable records; cleared wholesale when they grow past this.
constexpr size_t kMaxCachedRecords = 4096;

Result<ChunkBytes> DecodeChunkValue(const Digest& digest, std::string_view value,
                                    ChunkCheck check) {
  ASSIGN_OR_RETURN(ChunkValue parsed, ParseChunkValue(value));
  auto bytes = std::make_shared<std::vector<uint8_t>>(parsed.raw_size);
  RETURN_IF_ERROR(DecodeChunk(parsed.codec, parsed.payload, *bytes));
  // The checksum catches damage at a fraction of SHA-256's cost; values
  // written before checksums existed, and verify, re-hash the whole chunk.
  if (parsed.checksum && *parsed.checksum != ChunkChecksum(*bytes)) {
    return Status::Corruption("chunk content does not match its checksum");
  }
  if ((check == ChunkCheck::kFull || !parsed.checksum) &&
      Sha256Of(std::span<const uint8_t>(*bytes)) != digest) {
    return Status::Corruption("chunk content does not match its digest");
  }
  return ChunkBytes(std::move(bytes));
}

}  // namespace

Result<ChunkBytes> StoreImpl::FetchChunk(const Digest& digest, ChunkCheck check) const {
  rocksdb::PinnableSlice value;
  std::shared_ptr<Db> db = this->db();
  rocksdb::Status status =
      db->raw()->Get(rocksdb::ReadOptions(), db->cf(Cf::kChunks), digest.view(), &value);
  std::string context = "chunk " + digest.Hex();
  if (status.IsNotFound()) return Status::NotFound(context + " is missing from the store");
  if (status.IsIOError() && !db->writer()) {
    // A reader's view may name a blob file that gc has since deleted:
    // catch up once and retry before calling the chunk lost.
    auto reopened = const_cast<StoreImpl*>(this)->ReopenIfChanged(/*force=*/true);
    if (reopened.ok()) {
      db = this->db();
      value.Reset();
      status = db->raw()->Get(rocksdb::ReadOptions(), db->cf(Cf::kChunks), digest.view(), &value);
      if (status.IsNotFound()) return Status::NotFound(context + " is missing from the store");
    }
  }
  if (!status.ok()) return FromRocks(status, context);
  auto decoded = DecodeChunkValue(digest, value.ToStringView(), check);
  if (!decoded.ok()) return decoded.status().WithContext(context);
  return decoded;
}

Result<ChunkBytes> StoreImpl::ReadChunk(const Digest& digest) {
  if (ChunkBytes cached = cache_.Lookup(digest)) return cached;
  ASSIGN_OR_RETURN(ChunkBytes bytes, FetchChunk(digest));
  cache_.Insert(digest, bytes);
  return bytes;
}

Result<size_t> StoreImpl::ReadFile(const Recipe& recipe, uint64_t offset, std::span<uint8_t> out) {
  const uint64_t size = recipe.size();
  if (offset >= size || out.empty()) return size_t{0};
  const size_t wanted = static_cast<size_t>(std::min<uint64_t>(out.size(), size - offset));
  size_t copied = 0;
  for (size_t index = recipe.ExtentAt(offset); copied < wanted; ++index) {
    ASSIGN_OR_RETURN(ChunkBytes chunk, ReadChunk(recipe.extents[index].chunk));
    const uint64_t start = recipe.StartOf(index);
    const uint64_t expected = recipe.extents[index].end - start;
    if (chunk->size() != expected) {
      return Status::Corruption("chunk " + recipe.extents[index].chunk.Hex() + " has " +
                                std::to_string(chunk->size()) + " bytes, the file expects " +
                                std::to_string(expected));
    }
    const uint64_t within = offset + copied - start;
    const size_t length =
        static_cast<size_t>(std::min<uint64_t>(expected - within, wanted - copied));
    std::memcpy(out.data() + copied, chunk->data() + within, length);
    copied += length;
  }
  return copied;
}

Result<std::shared_ptr<const VersionTree>> StoreImpl::Tree(const VersionRecord& version) {
  {
    std::lock_guard lock(trees_mutex_);
    if (auto it = trees_.find(version.seq); it != trees_.end()) return it->second;
  }
  ASSIGN_OR_RETURN(auto value, db()->Get(Cf::kCatalog, keys::Tree(version.model, version.version)));
  if (!value) {
    return Status::NotFound("version " + version.model + "@" + std::to_string(version.version) +
                            " no longer exists");
  }
  ASSIGN_OR_RETURN(VersionTree tree, VersionTree::Decode(*value));
  auto shared = std::make_shared<const VersionTree>(std::move(tree));
  std::lock_guard lock(trees_mutex_);
  if (trees_.size() >= kMaxCachedRecords) trees_.clear();
  trees_.emplace(version.seq, shared);
  return shared;
}

Result<std::shared_ptr<const Recipe>> StoreImpl::FileRecipe(const Digest& file) {
  {
    std::lock_guard lock(recipes_mutex_);
    if (auto it = recipes_.find(file); it != recipes_.end()) return it->second;
  }
  ASSIGN_OR_RETURN(auto value, db()->Get(Cf::kRecipes, file.view()));
  if (!value) return Status::NotFound("no recipe for file " + file.Hex());
  auto decoded = Recipe::Decode(*value);
  if (!decoded.ok()) return decoded.status().WithContext("file " + file.Hex());
  auto shared = std::make_shared<const Recipe>(std::move(decoded).value());
  std::lock_guard lock(recipes_mutex_);
  if (recipes_.size() >= kMaxCachedRecords) recipes_.clear();
  recipes_.emplace(file, shared);
  return shared;
}

Result<FileInfo> StoreImpl::FileDetails(const Digest& file) {
  ASSIGN_OR_RETURN(auto value, db()->Get(Cf::kFileInfo, file.view()));
  if (!value) return FileInfo{.format = "generic", .fallback_reason = "", .tensors = {}};
  return FileInfo::Decode(*value);
}

Result<StoreStats> StoreImpl::Stats() {
  StoreStats stats;
  auto catalog = Catalog();
  stats.models = catalog->models().size();
  for (const ModelEntry& model : catalog->models()) {
    stats.versions += model.versions.size();
    for (const VersionRecord& version : model.versions)
      stats.logical_bytes += version.logical_bytes;
  }
  auto it = db()->NewIterator(Cf::kChunkInfo);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ASSIGN_OR_RETURN(ChunkInfo info, ChunkInfo::Decode(it->value().ToStringView()));
    stats.unique_bytes += info.raw_size;
    stats.stored_bytes += info.stored_size;
    ++stats.chunk_count;
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "reading chunk infos"));
  stats.disk_bytes = DiskUsage(dir_);
  return stats;
}

}  // namespace re2po
