// Creating and opening a store: the writer lock, the database, the schema.
#include <algorithm>
#include <chrono>

#include "store/base/log.h"
#include "store/db/commit_record.h"
#include "store/db/meta.h"
#include "store/db/reader_open.h"
#include "store/store_impl.h"

namespace re2po {
namespace fs = std::filesystem;
namespace {

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

// A damaged store, or one from a newer schema, must be refused before a
// read-write open rewrites its MANIFEST, WAL and OPTIONS.
Result<std::unique_ptr<Db>> OpenWriterDb(const fs::path& dir) {
  {
    ASSIGN_OR_RETURN(ReaderDb probe, OpenReaderDb(dir));
    RETURN_IF_ERROR(CheckSchema(*probe.db, dir));
  }
  return Db::Open(DbDir(dir), Db::Mode::kWriter);
}

}  // namespace

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
  std::unique_ptr<Db> db;
  std::string fingerprint;
  if (options.writer) {
    ASSIGN_OR_RETURN(lock,
                     WriterLock::Acquire(options.dir, options.lock_timeout, options.on_lock_wait));
    ASSIGN_OR_RETURN(db, OpenWriterDb(options.dir));
  } else {
    ASSIGN_OR_RETURN(ReaderDb reader, OpenReaderDb(options.dir));
    db = std::move(reader.db);
    fingerprint = std::move(reader.fingerprint);
  }
  RETURN_IF_ERROR(CheckSchema(*db, options.dir));
  if (options.writer) RETURN_IF_ERROR(UpgradeSchema(*db, options.dir));
  auto store = std::make_unique<StoreImpl>(options.dir, std::move(lock), std::move(db),
                                           std::move(fingerprint), options);
  RETURN_IF_ERROR(store->ReloadCatalog());
  return std::unique_ptr<Store>(std::move(store));
}

StoreImpl::StoreImpl(fs::path dir, std::unique_ptr<WriterLock> lock, std::unique_ptr<Db> db,
                     std::string fingerprint, const StoreOptions& options)
    : dir_(std::move(dir)),
      lock_(std::move(lock)),
      db_(std::move(db)),
      db_fingerprint_(std::move(fingerprint)),
      keyring_(options.keyring),
      // Each shard must hold several 1 MiB tensor pieces to be of any use.
      cache_(options.cache_bytes,
             std::clamp<size_t>(options.cache_bytes / (8 << 20), 1, options.cache_shards)) {}

Status StoreImpl::RequireWriter() const {
  if (!db()->writer()) return Status::Busy("the store was opened for reading only");
  return Status::Ok();
}

std::shared_ptr<Db> StoreImpl::db() const {
  std::lock_guard lock(db_mutex_);
  return db_;
}

}  // namespace re2po
