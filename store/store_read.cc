#include <algorithm>
#include <chrono>
#include <cstring>

#include "store/base/coding.h"
#include "store/base/free_space.h"
#include "store/base/log.h"
#include "store/chunks/chunk_decoder.h"
#include "store/chunks/chunk_pool.h"
#include "store/db/keys.h"
#include "store/store_impl.h"
#include "store/tensor_storage.h"

namespace re2po {
namespace {

// Caches of immutable records; cleared wholesale when they grow past this.
constexpr size_t kMaxCachedRecords = 4096;

}  // namespace

// Not through the in-flight table: a base fetched there while its delta's
// own fetch holds a place could wait on itself.
Result<ChunkBytes> StoreImpl::BaseChunk(const Digest& base) const {
  if (ChunkBytes cached = cache_.Lookup(base)) return cached;
  ASSIGN_OR_RETURN(ChunkBytes bytes, FetchChunk(base, ChunkCheck::kFast, /*base_of_delta=*/true));
  cache_.Insert(base, bytes);
  return bytes;
}

Result<ChunkBytes> StoreImpl::FetchChunk(const Digest& digest, ChunkCheck check,
                                         bool base_of_delta) const {
  const auto start = std::chrono::steady_clock::now();
  Result<ChunkBytes> fetched = FetchChunkUncounted(digest, check, base_of_delta);
  fetch_counters_.Fetched(start, fetched.ok());
  return fetched;
}

Result<ChunkBytes> StoreImpl::FetchChunkUncounted(const Digest& digest, ChunkCheck check,
                                                  bool base_of_delta) const {
  const std::string context = "chunk " + digest.Hex();
  std::shared_ptr<Db> db = this->db();
  auto value = db->GetPinnedUnchecked(Cf::kChunks, digest.view());
  if (!value.ok() && value.status().code() == StatusCode::kIOError && !db->writer()) {
    // A reader's view may name a blob file that gc has since deleted:
    // catch up once and retry before calling the chunk lost.
    if (const_cast<StoreImpl*>(this)->ReopenIfChanged(db.get()).ok()) {
      db = this->db();
      value = db->GetPinnedUnchecked(Cf::kChunks, digest.view());
    }
  }
  if (!value.ok()) return value.status().WithContext(context);
  if (!value->has_value()) return Status::NotFound(context + " is missing from the store");
  fetch_counters_.AddBytes((*value)->view().size());
  auto decoded = DecodeChunkValue(
      digest, (*value)->view(), check, base_of_delta,
      [this](const Digest& base) { return BaseChunk(base); }, keyring_.get());
  if (!decoded.ok()) return decoded.status().WithContext(context);
  return decoded;
}

Result<ChunkBytes> StoreImpl::ReadChunk(const Digest& digest) {
  if (ChunkBytes cached = cache_.Lookup(digest)) return cached;
  return in_flight_.Share(digest, [&]() -> Result<ChunkBytes> {
    // Another fetch may have filled the cache since the lookup above.
    if (ChunkBytes cached = cache_.LookupAgain(digest)) return cached;
    ASSIGN_OR_RETURN(ChunkBytes bytes, FetchChunk(digest));
    cache_.Insert(digest, bytes);
    return bytes;
  });
}

Result<std::vector<ChunkSlice>> SlicesOfRecipe(Store& store, const Recipe& recipe, uint64_t offset,
                                               size_t length) {
  std::vector<ChunkSlice> slices;
  const uint64_t size = recipe.size();
  if (offset >= size || length == 0) return slices;
  const uint64_t end = offset + std::min<uint64_t>(length, size - offset);
  for (size_t index = recipe.ExtentAt(offset); offset < end; ++index) {
    ASSIGN_OR_RETURN(ChunkBytes chunk, store.ReadChunk(recipe.extents[index].chunk));
    const uint64_t start = recipe.StartOf(index);
    const uint64_t expected = recipe.extents[index].end - start;
    if (chunk->size() != expected) {
      return Status::Corruption("chunk " + recipe.extents[index].chunk.Hex() + " has " +
                                std::to_string(chunk->size()) + " bytes, the file expects " +
                                std::to_string(expected));
    }
    const uint64_t within = offset - start;
    const uint64_t take = std::min(expected - within, end - offset);
    slices.push_back({std::move(chunk), static_cast<size_t>(within), static_cast<size_t>(take)});
    offset += take;
  }
  return slices;
}

Result<std::vector<ChunkSlice>> StoreImpl::ReadSlices(const Recipe& recipe, uint64_t offset,
                                                      size_t length) {
  return SlicesOfRecipe(*this, recipe, offset, length);
}

StoreCounters StoreImpl::Counters() const { return fetch_counters_.Snapshot(cache_); }

void Store::WarmReadBuffers(size_t buffer_bytes, size_t heap_slack) {
  ChunkBufferPool::Instance().Warm(buffer_bytes, heap_slack);
}

Result<size_t> Store::ReadFile(const Recipe& recipe, uint64_t offset, std::span<uint8_t> out) {
  ASSIGN_OR_RETURN(std::vector<ChunkSlice> slices, ReadSlices(recipe, offset, out.size()));
  return CopySlices(slices, out);
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

Result<std::string> StoreImpl::StoredChunkValue(const Digest& chunk) {
  ASSIGN_OR_RETURN(auto value, db()->Get(Cf::kChunks, chunk.view()));
  if (!value) return Status::NotFound("chunk " + chunk.Hex() + " is missing from the store");
  return std::move(*value);
}

Result<ChunkInfo> StoreImpl::ChunkDetails(const Digest& chunk) {
  ASSIGN_OR_RETURN(auto value, db()->Get(Cf::kChunkInfo, chunk.view()));
  if (!value) return Status::NotFound("no info for chunk " + chunk.Hex());
  return ChunkInfo::Decode(*value);
}

Result<FileInfo> StoreImpl::FileDetails(const Digest& file) {
  ASSIGN_OR_RETURN(auto value, db()->Get(Cf::kFileInfo, file.view()));
  if (!value) return FileInfo{.format = "generic", .fallback_reason = "", .tensors = {}};
  return FileInfo::Decode(*value);
}

Result<std::optional<VersionSignature>> StoreImpl::SignatureOf(const VersionRecord& version) {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   db()->Get(Cf::kCatalog, keys::Signature(version.model, version.version)));
  if (!bytes) return std::optional<VersionSignature>();
  ASSIGN_OR_RETURN(VersionSignature signature, VersionSignature::Decode(*bytes));
  return std::optional<VersionSignature>(std::move(signature));
}

std::string StoreImpl::KindOfChunkWithBase(std::string_view key) {
  // Only a chunk with a base is read: its value is a small residual. One
  // that cannot be read is verify's to report, not a reason to fail stats.
  Result<Digest> chunk = Digest::FromView(key);
  Result<std::string> value =
      chunk.ok() ? StoredChunkValue(*chunk) : Result<std::string>(chunk.status());
  Result<std::string> kind = value.ok() ? StorageKindOf(*value) : value;
  return kind.ok() ? *kind : "unreadable delta or derivation";
}

Result<StoreStats> StoreImpl::Stats() {
  StoreStats stats;
  auto catalog = Catalog();
  for (const ModelEntry& model : catalog->models()) {
    if (!model.versions.empty()) ++stats.models;  // not a model kept only for its access
    stats.versions += model.versions.size();
    for (const VersionRecord& version : model.versions)
      stats.logical_bytes += version.logical_bytes;
  }
  const auto database = db();  // the iterator must not outlive it (a refresh swaps db_)
  DbIterator it = database->NewIterator(Cf::kChunkInfo);
  for (it.SeekToFirst(); it.Valid(); it.Next()) {
    ASSIGN_OR_RETURN(ChunkInfo info, ChunkInfo::Decode(it.value()));
    stats.unique_bytes += info.raw_size;
    stats.stored_bytes += info.stored_size;
    ++stats.chunk_count;
    std::string kind = "whole";
    if (info.base) {
      kind = KindOfChunkWithBase(it.key());
    }
    StorageKindStats& of_kind = stats.by_kind[kind];
    ++of_kind.chunks;
    of_kind.raw_bytes += info.raw_size;
    of_kind.stored_bytes += info.stored_size;
  }
  RETURN_IF_ERROR(it.status("reading chunk infos"));
  stats.disk_bytes = DiskUsage(dir_);
  return stats;
}

}  // namespace re2po
