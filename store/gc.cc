// Mark and sweep: chunks and recipes no version reaches are deleted, then a
// forced compaction with blob garbage collection hands the space back.

#include <unordered_set>

#include "store/base/free_space.h"
#include "store/base/log.h"
#include "store/db/keys.h"
#include "store/store_impl.h"

namespace re2po {
namespace {

using DigestSet = std::unordered_set<Digest, DigestHash>;

Result<DigestSet> LiveFiles(Db& db) {
  DigestSet live;
  DbIterator it = db.NewIterator(Cf::kCatalog);
  std::string prefix(1, keys::kTreeTag);
  for (it.Seek(prefix); it.Valid() && it.key().starts_with(prefix); it.Next()) {
    ASSIGN_OR_RETURN(VersionTree tree, VersionTree::Decode(it.value()));
    for (const TreeEntry& entry : tree.entries()) {
      if (entry.type == EntryType::kFile) live.insert(entry.digest);
    }
  }
  RETURN_IF_ERROR(it.status("reading trees"));
  return live;
}

// A delta chunk needs its base: a base is live while a live delta uses it.
// Bases are never deltas themselves, so one pass finds them all.
Status AddBasesOfLiveDeltas(Db& db, DigestSet& live_chunks) {
  std::vector<Digest> bases;
  DbIterator it = db.NewIterator(Cf::kChunkInfo);
  for (it.SeekToFirst(); it.Valid(); it.Next()) {
    ASSIGN_OR_RETURN(Digest chunk, Digest::FromView(it.key()));
    if (!live_chunks.contains(chunk)) continue;
    ASSIGN_OR_RETURN(ChunkInfo info, ChunkInfo::Decode(it.value()));
    for (const Digest& base : info.Bases()) bases.push_back(base);
  }
  RETURN_IF_ERROR(it.status("reading chunk infos"));
  live_chunks.insert(bases.begin(), bases.end());
  return Status::Ok();
}

// Tensor-name, tensor-sketch and permutation entries (store/import/delta_bases.h) that
// point at deleted files.
Status DropDeadTensorEntries(Db& db, const DigestSet& live_files, WriteBatch& batch) {
  DbIterator it = db.NewIterator(Cf::kCatalog);
  for (char tag : {keys::kTensorNameTag, keys::kTensorSketchTag, keys::kTensorPermutationTag}) {
    const std::string prefix(1, tag);
    for (it.Seek(prefix); it.Valid() && it.key().starts_with(prefix); it.Next()) {
      Result<Digest> file = Digest::FromView(it.value().substr(0, 32));
      if (!file.ok() || !live_files.contains(*file)) batch.Delete(Cf::kCatalog, it.key());
    }
  }
  return it.status("reading tensor entries");
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
  relocated = CheckFreeSpace(store_dir, BlobBytes(store_dir / "db")).ok();
  return db.CompactAll(/*collect_blobs=*/relocated);
}

// Deletes the recipes of files no version reaches; returns the chunks the
// live recipes use.
Result<DigestSet> SweepRecipes(Db& db, const DigestSet& live_files, WriteBatch& batch,
                               GcSummary& summary) {
  DigestSet live_chunks;
  DbIterator recipes = db.NewIterator(Cf::kRecipes);
  for (recipes.SeekToFirst(); recipes.Valid(); recipes.Next()) {
    ASSIGN_OR_RETURN(Digest file, Digest::FromView(recipes.key()));
    if (!live_files.contains(file)) {
      batch.Delete(Cf::kRecipes, recipes.key());
      batch.Delete(Cf::kFileInfo, recipes.key());
      ++summary.recipes_removed;
      continue;
    }
    ASSIGN_OR_RETURN(Recipe recipe, Recipe::Decode(recipes.value()));
    for (const Extent& extent : recipe.extents) live_chunks.insert(extent.chunk);
  }
  RETURN_IF_ERROR(recipes.status("reading recipes"));
  return live_chunks;
}

Status SweepChunks(Db& db, const DigestSet& live_chunks, WriteBatch& batch, GcSummary& summary) {
  DbIterator infos = db.NewIterator(Cf::kChunkInfo);
  for (infos.SeekToFirst(); infos.Valid(); infos.Next()) {
    ASSIGN_OR_RETURN(Digest chunk, Digest::FromView(infos.key()));
    if (live_chunks.contains(chunk)) continue;
    ASSIGN_OR_RETURN(ChunkInfo info, ChunkInfo::Decode(infos.value()));
    batch.Delete(Cf::kChunks, infos.key());
    batch.Delete(Cf::kChunkInfo, infos.key());
    ++summary.chunks_removed;
    summary.bytes_removed += info.stored_size;
  }
  return infos.status("reading chunk infos");
}

}  // namespace

// Every iterator is gone before the compaction: one still open would pin
// the blob files it saw, and their space would not come back.
Result<GcSummary> StoreImpl::CollectGarbage(const ProgressFn& progress) {
  RETURN_IF_ERROR(RequireWriter());
  GcSummary summary;
  summary.disk_bytes_before = DiskUsage(dir_);
  const std::shared_ptr<Db> database = this->db();
  Db& db = *database;
  ASSIGN_OR_RETURN(DigestSet live_files, LiveFiles(db));
  WriteBatch batch(db);
  ASSIGN_OR_RETURN(DigestSet live_chunks, SweepRecipes(db, live_files, batch, summary));
  RETURN_IF_ERROR(AddBasesOfLiveDeltas(db, live_chunks));
  RETURN_IF_ERROR(DropDeadTensorEntries(db, live_files, batch));
  RETURN_IF_ERROR(SweepChunks(db, live_chunks, batch, summary));
  if (progress) progress(1, 3);
  RETURN_IF_ERROR(db.Write(batch, /*durable=*/true));
  RETURN_IF_ERROR(db.FlushAll());
  if (progress) progress(2, 3);
  bool relocated = false;
  RETURN_IF_ERROR(CompactEverything(db, dir_, relocated));
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
