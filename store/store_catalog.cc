// The catalog a store publishes to its readers, and how readers catch up
// with writers: reopen the database when it changed, swap the snapshot.
#include "store/base/coding.h"
#include "store/base/log.h"
#include "store/db/commit_record.h"
#include "store/db/keys.h"
#include "store/db/meta.h"
#include "store/db/reader_open.h"
#include "store/store_impl.h"

namespace re2po {
namespace {

Result<std::vector<ModelEntry>> LoadModels(DbIterator& it) {
  std::vector<ModelEntry> models;
  for (it.Seek(std::string(1, keys::kModelTag)); it.Valid(); it.Next()) {
    std::string_view key = it.key();
    if (key.empty() || key[0] != keys::kModelTag) break;
    Decoder decoder(it.value(), "model");
    ModelEntry model;
    model.name = std::string(key.substr(1));
    uint64_t created_ns = 0;
    RETURN_IF_ERROR(decoder.GetVarint(model.id));
    RETURN_IF_ERROR(decoder.GetVarint(created_ns));
    if (!decoder.done()) {
      ASSIGN_OR_RETURN(model.access, ModelAccess::DecodeFrom(decoder));
    }
    models.push_back(std::move(model));
  }
  return models;
}

Status LoadVersions(DbIterator& it, ModelEntry& model) {
  const std::string prefix = keys::VersionPrefix(model.name);
  for (it.Seek(prefix); it.Valid() && it.key().starts_with(prefix); it.Next()) {
    auto parsed = keys::ParseVersionKey(it.key());
    if (!parsed) return Status::Corruption("malformed version key in the catalog");
    ASSIGN_OR_RETURN(auto record, VersionRecord::Decode(model.name, parsed->version, it.value()));
    model.versions.push_back(std::move(record));
  }
  return Status::Ok();
}

}  // namespace

Result<std::shared_ptr<const CatalogSnapshot>> LoadCatalog(const Db& db) {
  ASSIGN_OR_RETURN(uint64_t generation, ReadCounter(db, keys::kGeneration));
  DbIterator it = db.NewIterator(Cf::kCatalog);
  ASSIGN_OR_RETURN(std::vector<ModelEntry> models, LoadModels(it));
  for (ModelEntry& model : models) RETURN_IF_ERROR(LoadVersions(it, model));
  RETURN_IF_ERROR(it.status("reading the catalog"));
  return std::make_shared<const CatalogSnapshot>(generation, std::move(models));
}

std::shared_ptr<const CatalogSnapshot> StoreImpl::Catalog() const {
  std::lock_guard lock(catalog_mutex_);
  return catalog_;
}

Status StoreImpl::ReloadCatalog() {
  ASSIGN_OR_RETURN(auto catalog, LoadCatalog(*db()));
  const uint64_t generation = catalog->generation();
  {
    std::lock_guard lock(catalog_mutex_);
    catalog_ = std::move(catalog);
  }
  if (db()->writer()) RecordCommit(generation);
  return Status::Ok();
}

void StoreImpl::RecordCommit(uint64_t generation) {
  // The commit itself is durable already; a record that cannot be written
  // only weakens the next open's check, so it is a warning, not a failure.
  Result<CommitRecord> record = CurrentCommitRecord(DbDir(dir_), generation);
  Status written = record.ok() ? WriteCommitRecord(dir_, *record) : record.status();
  if (!written.ok()) {
    Logger("store")->warn("cannot update {}: {}", (dir_ / kCommitRecordName).string(),
                          written.ToString());
  }
}

Result<bool> StoreImpl::ReopenIfChanged(const Db* failed_on) {
  if (db()->writer()) return false;
  // One reopen at a time: two racing could publish the older state last,
  // and a version just shown would vanish until the next refresh.
  std::lock_guard reopening(reopen_mutex_);
  if (failed_on != nullptr && db().get() != failed_on) return true;
  std::string fingerprint = Db::StateFingerprint(DbDir(dir_));
  if (failed_on == nullptr && fingerprint == db_fingerprint_) return false;
  ASSIGN_OR_RETURN(ReaderDb reader, OpenReaderDb(dir_));
  std::shared_ptr<Db> fresh = std::move(reader.db);
  ASSIGN_OR_RETURN(auto catalog, LoadCatalog(*fresh));
  uint64_t old_generation = Catalog()->generation();
  {
    std::lock_guard lock(db_mutex_);
    db_ = std::move(fresh);  // operations in flight keep the old one alive
    db_fingerprint_ = std::move(reader.fingerprint);
  }
  std::lock_guard lock(catalog_mutex_);
  bool changed = catalog->generation() != old_generation;
  catalog_ = std::move(catalog);
  return changed;
}

Result<bool> StoreImpl::Refresh() { return ReopenIfChanged(); }

}  // namespace re2po
