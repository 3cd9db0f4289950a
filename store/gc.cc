// Mark and sweep: chunks and recipes no version reaches are deleted, then a
// forced compaction with blob garbage collection hands the space back.
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <unordered_set>

#include "store/free_space.h"
#include "store/keys.h"
#include "store/log.h"
#include "store/store_impl.h"

namespace re2po {
namespace {

using DigestSet = std::unordered_set<Digest, DigestHash>;

Result<DigestSet> LiveFiles(Db& db) {
  DigestSet live;
  auto it = db.NewIterator(Cf::kCatalog);
  std::string prefix(1, keys::kTreeTag);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    ASSIGN_OR_RETURN(VersionTree tree, VersionTree::Decode(it->value().ToStringView()));
    for (const TreeEntry& entry : tree.entries()) {
      if (entry.type == EntryType::kFile) live.insert(entry.digest);
    }
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "reading trees"));
  return live;
}

// A delta chunk needs its base: a base is live while a live delta uses it.
// Bases are never deltas themselves, so one pass finds them all.
Status AddBasesOfLiveDeltas(Db& db, DigestSet& live_chunks) {
  std::vector<Digest> bases;
  auto it = db.NewIterator(Cf::kChunkInfo);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ASSIGN_OR_RETURN(Digest chunk, Digest::FromView(it->key().ToStringView()));
    if (!live_chunks.contains(chunk)) continue;
    ASSIGN_OR_RETURN(ChunkInfo info, ChunkInfo::Decode(it->value().ToStringView()));
    if (info.base) bases.push_back(*info.base);
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "reading chunk infos"));
  live_chunks.insert(bases.begin(), bases.end());
  return Status::Ok();
}

// Tensor-name entries (store/delta_bases.h) that point at deleted files.
Status DropDeadTensorNames(Db& db, const DigestSet& live_files, rocksdb::WriteBatch& batch) {
  auto it = db.NewIterator(Cf::kCatalog);
  const std::string prefix(1, keys::kTensorNameTag);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    Result<Digest> file = Digest::FromView(it->value().ToStringView());
    if (!file.ok() || !live_files.contains(*file)) batch.Delete(db.cf(Cf::kCatalog), it->key());
  }
  return FromRocks(it->status(), "reading tensor names");
}

uint64_t BlobBytes(const std::filesystem::path& db_dir) {
  uint64_t total = 0;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(db_dir, error)) {
    if (entry.path().extension() == ".blob") total += entry.file_size(error);
  }
  return total;
}

// Forced blob garbage collection rewrites the live blobs of every blob file,
// which needs room for them; on a nearly full disk gc still deletes blob
// files that hold only garbage, and says what it could not do.
Status CompactEverything(Db& db, const std::filesystem::path& store_dir, bool& relocated) {
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  relocated = CheckFreeSpace(store_dir, BlobBytes(store_dir / "db")).ok();
  options.blob_garbage_collection_policy = relocated
                                               ? rocksdb::BlobGarbageCollectionPolicy::kForce
                                               : rocksdb::BlobGarbageCollectionPolicy::kDisable;
  options.blob_garbage_collection_age_cutoff = 1.0;
  for (size_t i = 0; i < static_cast<size_t>(Cf::kCount); ++i) {
    RETURN_IF_ERROR(
        FromRocks(db.raw()->CompactRange(options, db.cf(static_cast<Cf>(i)), nullptr, nullptr),
                  "compacting"));
  }
  return Status::Ok();
}

}  // namespace

Result<GcSummary> StoreImpl::CollectGarbage(const ProgressFn& progress) {
  RETURN_IF_ERROR(RequireWriter());
  GcSummary summary;
  summary.disk_bytes_before = DiskUsage(dir_);
  ASSIGN_OR_RETURN(DigestSet live_files, LiveFiles(*db()));
  DigestSet live_chunks;
  rocksdb::WriteBatch batch;
  auto recipes = db()->NewIterator(Cf::kRecipes);
  for (recipes->SeekToFirst(); recipes->Valid(); recipes->Next()) {
    ASSIGN_OR_RETURN(Digest file, Digest::FromView(recipes->key().ToStringView()));
    if (!live_files.contains(file)) {
      batch.Delete(db()->cf(Cf::kRecipes), recipes->key());
      batch.Delete(db()->cf(Cf::kFileInfo), recipes->key());
      ++summary.recipes_removed;
      continue;
    }
    ASSIGN_OR_RETURN(Recipe recipe, Recipe::Decode(recipes->value().ToStringView()));
    for (const Extent& extent : recipe.extents) live_chunks.insert(extent.chunk);
  }
  RETURN_IF_ERROR(FromRocks(recipes->status(), "reading recipes"));
  RETURN_IF_ERROR(AddBasesOfLiveDeltas(*db(), live_chunks));
  RETURN_IF_ERROR(DropDeadTensorNames(*db(), live_files, batch));
  auto infos = db()->NewIterator(Cf::kChunkInfo);
  for (infos->SeekToFirst(); infos->Valid(); infos->Next()) {
    ASSIGN_OR_RETURN(Digest chunk, Digest::FromView(infos->key().ToStringView()));
    if (live_chunks.contains(chunk)) continue;
    ASSIGN_OR_RETURN(ChunkInfo info, ChunkInfo::Decode(infos->value().ToStringView()));
    batch.Delete(db()->cf(Cf::kChunks), infos->key());
    batch.Delete(db()->cf(Cf::kChunkInfo), infos->key());
    ++summary.chunks_removed;
    summary.bytes_removed += info.stored_size;
  }
  RETURN_IF_ERROR(FromRocks(infos->status(), "reading chunk infos"));
  recipes.reset();
  infos.reset();
  if (progress) progress(1, 3);
  RETURN_IF_ERROR(db()->Write(batch, /*durable=*/true));
  RETURN_IF_ERROR(db()->FlushAll());
  if (progress) progress(2, 3);
  bool relocated = false;
  RETURN_IF_ERROR(CompactEverything(*db(), dir_, relocated));
  if (!relocated) {
    Logger("gc")->warn(
        "too little free space to rewrite blob files that mix live and dead chunks; "
        "only wholly dead blob files were deleted. Free some space and run gc again.");
  }
  if (progress) progress(3, 3);
  RecordCommit(Catalog()->generation());  // compaction grew the MANIFEST
  summary.disk_bytes_after = DiskUsage(dir_);
  Logger("gc")->info("removed {} chunks ({} bytes) and {} recipes", summary.chunks_removed,
                     summary.bytes_removed, summary.recipes_removed);
  return summary;
}

}  // namespace re2po
