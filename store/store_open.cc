#include "store/store_impl.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "store/coding.h"
#include "store/commit_record.h"
#include "store/keys.h"
#include "store/log.h"

namespace re2po {
namespace fs = std::filesystem;
namespace {

fs::path DbDir(const fs::path& store) { return store / "db"; }

Status WriteInitialMeta(Db& db) {
  rocksdb::WriteBatch batch;
  std::string schema;
  PutFixed32(schema, kSchemaVersion);
  std::random_device random;
  std::string id;
  for (int i = 0; i < 4; ++i) PutFixed32(id, random());
  batch.Put(db.cf(Cf::kMeta), keys::kSchema, schema);
  batch.Put(db.cf(Cf::kMeta), keys::kStoreId, id);
  batch.Put(db.cf(Cf::kMeta), keys::kCreated, Fixed64String(static_cast<uint64_t>(NowNs())));
  batch.Put(db.cf(Cf::kMeta), keys::kGeneration, Fixed64String(0));
  batch.Put(db.cf(Cf::kMeta), keys::kNextSeq, Fixed64String(1));
  RETURN_IF_ERROR(db.Write(batch, /*durable=*/true));
  return db.FlushAll();
}

Status CheckIsStore(const fs::path& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    return Status::NotFound("no store at " + dir.string() + " (create one with 're2po init')");
  }
  if (!fs::exists(DbDir(dir) / "CURRENT", error)) {
    return Status::Corruption(dir.string() +
                              " is not a usable store: its database (db/CURRENT) is missing");
  }
  return Status::Ok();
}

Result<uint64_t> ReadCounterFrom(const Db& db, std::string_view key) {
  ASSIGN_OR_RETURN(auto value, db.Get(Cf::kMeta, key));
  if (!value) return Status::Corruption("store metadata '" + std::string(key) + "' is missing");
  Decoder decoder(*value, key);
  uint64_t counter = 0;
  RETURN_IF_ERROR(decoder.GetFixed64(counter));
  return counter;
}

struct StableReader {
  std::unique_ptr<Db> db;
  std::string fingerprint;
};

// A read-only open reads the MANIFEST, then the WAL, then opens files; a
// writer flushing or compacting meanwhile can make it see half a state (a
// committed version without its flushed recipes) or miss a deleted file.
// So open until the database did not change across the open.
Result<StableReader> OpenStableReader(const fs::path& db_dir) {
  constexpr int kAttempts = 50;
  for (int attempt = 1;; ++attempt) {
    std::string before = Db::StateFingerprint(db_dir);
    auto db = Db::Open(db_dir, Db::Mode::kReader);
    bool stable = Db::StateFingerprint(db_dir) == before;
    if (stable && !db.ok()) return db.status();
    if (stable) return StableReader{std::move(db).value(), std::move(before)};
    if (attempt == kAttempts) {
      return Status::Busy("the store kept changing while it was being opened; try again");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10 * attempt));
  }
}

// A stable read-only open whose state is not older than the store's
// last-commit record (store/commit_record.h). The record is read first: a
// writer updates it only after committing.
Result<StableReader> OpenCheckedReader(const fs::path& store_dir) {
  std::optional<CommitRecord> recorded = ReadCommitRecord(store_dir);
  ASSIGN_OR_RETURN(StableReader reader, OpenStableReader(DbDir(store_dir)));
  ASSIGN_OR_RETURN(uint64_t generation, ReadCounterFrom(*reader.db, keys::kGeneration));
  RETURN_IF_ERROR(CheckCommitRecord(recorded, DbDir(store_dir), generation));
  return reader;
}

}  // namespace

uint64_t DiskUsage(const fs::path& dir) {
  uint64_t total = 0;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(dir, error); !error && it != fs::end(it);
       it.increment(error)) {
    struct stat st {};
    if (lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      // RocksDB preallocates files it is writing; count only what they hold.
      uint64_t allocated = static_cast<uint64_t>(st.st_blocks) * 512;
      uint64_t used = (static_cast<uint64_t>(st.st_size) + 4095) / 4096 * 4096;
      total += std::min(allocated, used);
    }
  }
  return total;
}

Status Store::Init(const fs::path& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) return Status::FromErrno(error.value(), "creating " + dir.string());
  if (!fs::is_empty(dir, error)) {
    if (fs::exists(DbDir(dir) / "CURRENT")) {
      return Status::AlreadyExists("a store already exists at " + dir.string());
    }
    return Status::InvalidArgument(dir.string() +
                                   " is not empty; a new store needs an empty "
                                   "directory");
  }
  ASSIGN_OR_RETURN(auto lock, WriterLock::Acquire(dir, std::chrono::seconds(10), nullptr));
  fs::create_directories(DbDir(dir), error);  // RocksDB logs an error if it must
  ASSIGN_OR_RETURN(auto db, Db::Open(DbDir(dir), Db::Mode::kCreate));
  RETURN_IF_ERROR(WriteInitialMeta(*db));
  ASSIGN_OR_RETURN(CommitRecord record, CurrentCommitRecord(DbDir(dir), 0));
  RETURN_IF_ERROR(WriteCommitRecord(dir, record));
  fs::create_directories(dir / "usage", error);
  Logger("store")->info("created store {}", dir.string());
  return Status::Ok();
}

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  RETURN_IF_ERROR(CheckIsStore(options.dir));
  std::unique_ptr<WriterLock> lock;
  if (options.writer) {
    ASSIGN_OR_RETURN(lock,
                     WriterLock::Acquire(options.dir, options.lock_timeout, options.on_lock_wait));
  }
  std::unique_ptr<Db> db;
  std::string fingerprint;
  if (options.writer) {
    // A damaged store, or one from a newer schema, must be refused before a
    // read-write open rewrites its MANIFEST, WAL and OPTIONS.
    {
      ASSIGN_OR_RETURN(StableReader probe, OpenCheckedReader(options.dir));
      RETURN_IF_ERROR(CheckSchemaOf(*probe.db, options.dir));
    }
    ASSIGN_OR_RETURN(db, Db::Open(DbDir(options.dir), Db::Mode::kWriter));
  } else {
    ASSIGN_OR_RETURN(StableReader reader, OpenCheckedReader(options.dir));
    db = std::move(reader.db);
    fingerprint = std::move(reader.fingerprint);
  }
  auto store = std::make_unique<StoreImpl>(options.dir, std::move(lock), std::move(db),
                                           std::move(fingerprint), options);
  RETURN_IF_ERROR(store->CheckSchema());
  if (options.writer) RETURN_IF_ERROR(store->UpgradeSchema());
  RETURN_IF_ERROR(store->ReloadCatalog());
  return std::unique_ptr<Store>(std::move(store));
}

StoreImpl::StoreImpl(fs::path dir, std::unique_ptr<WriterLock> lock, std::unique_ptr<Db> db,
                     std::string fingerprint, const StoreOptions& options)
    : dir_(std::move(dir)),
      lock_(std::move(lock)),
      db_(std::move(db)),
      db_fingerprint_(std::move(fingerprint)),
      // Each shard must hold several 1 MiB tensor pieces to be of any use.
      cache_(options.cache_bytes,
             std::clamp<size_t>(options.cache_bytes / (8 << 20), 1, options.cache_shards)) {}

Status StoreImpl::RequireWriter() const {
  if (!db()->writer()) return Status::Busy("the store was opened for reading only");
  return Status::Ok();
}

Status StoreImpl::CheckSchema() { return CheckSchemaOf(*db(), dir_); }

// Before its first write a writer records the schema it writes, so that an
// older re2po refuses the store cleanly instead of meeting chunk values it
// cannot decode.
Status StoreImpl::UpgradeSchema() {
  ASSIGN_OR_RETURN(uint32_t schema, ReadSchemaOf(*db(), dir_));
  if (schema >= kSchemaVersion) return Status::Ok();
  std::string value;
  PutFixed32(value, kSchemaVersion);
  rocksdb::WriteBatch batch;
  batch.Put(db()->cf(Cf::kMeta), keys::kSchema, value);
  RETURN_IF_ERROR(db()->Write(batch, /*durable=*/true));
  Logger("store")->info("store {}: schema {} upgraded to {}", dir_.string(), schema,
                        kSchemaVersion);
  return Status::Ok();
}

Result<uint32_t> ReadSchemaOf(const Db& db, const fs::path& dir) {
  ASSIGN_OR_RETURN(auto value, db.Get(Cf::kMeta, keys::kSchema));
  if (!value || value->size() != 4) {
    return Status::Corruption(dir.string() + " has no schema version: not a re2po store");
  }
  Decoder decoder(*value, "schema");
  uint32_t schema = 0;
  RETURN_IF_ERROR(decoder.GetFixed32(schema));
  return schema;
}

Status CheckSchemaOf(const Db& db, const fs::path& dir) {
  ASSIGN_OR_RETURN(uint32_t schema, ReadSchemaOf(db, dir));
  if (schema > kSchemaVersion) {
    return Status::Unsupported("the store at " + dir.string() + " has schema " +
                               std::to_string(schema) + ", newer than this re2po understands (" +
                               std::to_string(kSchemaVersion) + "); upgrade re2po");
  }
  return Status::Ok();
}

Result<uint64_t> StoreImpl::ReadCounter(std::string_view key) const {
  return ReadCounterFrom(*db(), key);
}

Result<std::shared_ptr<const CatalogSnapshot>> StoreImpl::LoadCatalog(const Db& db) {
  ASSIGN_OR_RETURN(uint64_t generation, ReadCounterFrom(db, keys::kGeneration));
  std::vector<ModelEntry> models;
  auto it = db.NewIterator(Cf::kCatalog);
  for (it->Seek(std::string(1, keys::kModelTag)); it->Valid(); it->Next()) {
    std::string_view key = it->key().ToStringView();
    if (key.empty() || key[0] != keys::kModelTag) break;
    Decoder decoder(it->value().ToStringView(), "model");
    ModelEntry model;
    model.name = std::string(key.substr(1));
    RETURN_IF_ERROR(decoder.GetVarint(model.id));
    models.push_back(std::move(model));
  }
  for (ModelEntry& model : models) {
    std::string prefix = keys::VersionPrefix(model.name);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      auto parsed = keys::ParseVersionKey(it->key().ToStringView());
      if (!parsed) return Status::Corruption("malformed version key in the catalog");
      ASSIGN_OR_RETURN(auto record, VersionRecord::Decode(model.name, parsed->version,
                                                          it->value().ToStringView()));
      model.versions.push_back(std::move(record));
    }
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "reading the catalog"));
  return std::make_shared<const CatalogSnapshot>(generation, std::move(models));
}

std::shared_ptr<const CatalogSnapshot> StoreImpl::Catalog() const {
  std::lock_guard lock(catalog_mutex_);
  return catalog_;
}

std::shared_ptr<Db> StoreImpl::db() const {
  std::lock_guard lock(db_mutex_);
  return db_;
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
  ASSIGN_OR_RETURN(StableReader reader, OpenCheckedReader(dir_));
  std::shared_ptr<Db> fresh = std::move(reader.db);
  fingerprint = std::move(reader.fingerprint);
  ASSIGN_OR_RETURN(auto catalog, LoadCatalog(*fresh));
  uint64_t old_generation = Catalog()->generation();
  {
    std::lock_guard lock(db_mutex_);
    db_ = std::move(fresh);  // operations in flight keep the old one alive
    db_fingerprint_ = std::move(fingerprint);
  }
  std::lock_guard lock(catalog_mutex_);
  bool changed = catalog->generation() != old_generation;
  catalog_ = std::move(catalog);
  return changed;
}

Result<bool> StoreImpl::Refresh() { return ReopenIfChanged(); }

}  // namespace re2po
