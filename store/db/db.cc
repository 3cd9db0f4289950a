#include "store/db/db.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/table_properties_collectors.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "store/base/log.h"

namespace re2po {
namespace fs = std::filesystem;
namespace {

constexpr std::array<const char*, static_cast<size_t>(Cf::kCount)> kCfNames = {
    "default", "chunks", "chunk_info", "recipes", "file_info", "catalog"};

rocksdb::ColumnFamilyOptions ChunkFamilyOptions() {
  rocksdb::ColumnFamilyOptions options;
  // Tensor bytes go to blob files so compaction never rewrites them; chunks
  // arrive already compressed by our codec.
  options.enable_blob_files = true;
  options.min_blob_size = 512;
  options.blob_file_size = 256ull << 20;
  options.blob_compression_type = rocksdb::kNoCompression;
  // Only `re2po gc` relocates blobs (a forced compaction): routine
  // compactions must never delete a blob file a read-only reader still uses.
  options.enable_blob_garbage_collection = false;
  options.compression = rocksdb::kNoCompression;
  // Chunk values pass through the memtable on their way to blob files, so
  // memtables are most of an import's memory: the database's write buffer
  // manager (kImportMemtableBudget) bounds them together.
  options.write_buffer_size = 64ull << 20;
  options.max_write_buffer_number = 4;
  return options;
}

// The small families are flushed with the chunks (atomic flush), so they
// need as many memtables as it does, or a long import stops on theirs
// ("Stopping writes because we have 2 immutable memtables").
rocksdb::ColumnFamilyOptions IndexFamilyOptions() {
  rocksdb::ColumnFamilyOptions options;
  options.max_write_buffer_number = 4;
  return options;
}

// All memtables of a writer together: a flush starts past 7/8 of it and
// writes wait while it is full, so an import of any size holds about this
// much plus two import windows (store/import/chunk_writer.cc).
constexpr size_t kImportMemtableBudget = size_t{128} << 20;
// A node cache writes what it fetches: a smaller budget keeps the mount
// daemon near its chunk cache's size.
constexpr size_t kNodeCacheMemtableBudget = size_t{32} << 20;

// RocksDB's own log goes to the "rocksdb" spdlog logger: nothing is written
// in db/ just to open it, so a refused open leaves the store untouched.
// Its warnings (write stalls, slow flushes) are about tuning, not about the
// user's data, and go to debug; its errors stay errors, though the Status
// of the failed call says the same.
class RocksLogger final : public rocksdb::Logger {
 public:
  RocksLogger()
      : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL), log_(re2po::Logger("rocksdb")) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char buffer[1024];
    vsnprintf(buffer, sizeof buffer, format, ap);
    if (level >= rocksdb::InfoLogLevel::ERROR_LEVEL &&
        level != rocksdb::InfoLogLevel::HEADER_LEVEL) {
      log_->error("{}", buffer);
    } else {
      log_->debug("{}", buffer);
    }
  }

 private:
  std::shared_ptr<spdlog::logger> log_;
};

rocksdb::DBOptions MakeDbOptions(Db::Mode mode, Db::Profile profile) {
  rocksdb::DBOptions options;
  options.create_if_missing = mode == Db::Mode::kCreate;
  options.create_missing_column_families = mode == Db::Mode::kCreate;
  options.error_if_exists = false;  // Store::Init checks for an existing store itself
  // Chunks are written without the WAL and made durable by a flush before
  // the version that uses them commits; atomic flush keeps chunk payloads
  // and chunk infos from ever being durable one without the other.
  options.atomic_flush = true;
  options.max_background_jobs = 2;
  options.keep_log_file_num = 4;
  options.max_open_files = -1;  // readers keep files open across a writer's compactions
  // Opening table files on 16 threads per family started ~200 threads for
  // every command; stores have a few files per family (MergeFragmentedFamilies).
  options.max_file_opening_threads = 1;
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  options.info_log = std::make_shared<RocksLogger>();
  // Preallocating a 140 MB WAL and 256 MB blob files fills a small disk
  // before a single byte is stored; the WAL only carries commits anyway.
  options.allow_fallocate = false;
  // Chunks are written without the WAL and flushed by a successful import;
  // those of a failed import are dropped at close instead of filling the disk.
  // A node cache keeps what it fetched across restarts instead.
  options.avoid_flush_during_shutdown = profile == Db::Profile::kStore;
  options.max_total_wal_size = 8 << 20;
  if (mode != Db::Mode::kReader) {
    options.write_buffer_manager = std::make_shared<rocksdb::WriteBufferManager>(
        profile == Db::Profile::kStore ? kImportMemtableBudget : kNodeCacheMemtableBudget,
        /*cache=*/nullptr, /*allow_stall=*/true);
  }
  return options;
}

// A node's chunk cache evicts all the time: values stay inline (blob files
// give space back only when gc forces it), and a table file that collects
// many deletions is compacted soon, so evicted chunks leave the disk.
rocksdb::ColumnFamilyOptions CacheChunkFamilyOptions() {
  rocksdb::ColumnFamilyOptions options;
  options.compression = rocksdb::kNoCompression;
  options.write_buffer_size = 64ull << 20;
  options.target_file_size_base = 64ull << 20;
  options.table_properties_collector_factories.push_back(
      rocksdb::NewCompactOnDeletionCollectorFactory(/*sliding_window_size=*/64,
                                                    /*deletion_trigger=*/8));
  return options;
}

std::vector<rocksdb::ColumnFamilyDescriptor> Families(Db::Profile profile) {
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (size_t i = 0; i < kCfNames.size(); ++i) {
    const bool chunks = i == static_cast<size_t>(Cf::kChunks);
    auto options = !chunks                              ? IndexFamilyOptions()
                   : profile == Db::Profile::kNodeCache ? CacheChunkFamilyOptions()
                                                        : ChunkFamilyOptions();
    families.emplace_back(kCfNames[i], options);
  }
  return families;
}

Status FromRocks(const rocksdb::Status& status, std::string_view context) {
  if (status.ok()) return Status::Ok();
  std::string msg = std::string(context) + ": " + status.ToString();
  if (status.IsNotFound()) return Status::NotFound(msg);
  if (status.IsCorruption()) return Status::Corruption(msg);
  if (status.IsNoSpace()) return Status::NoSpace(msg);
  if (status.IsBusy() || status.IsTimedOut() || status.IsTryAgain()) return Status::Busy(msg);
  if (status.IsNotSupported()) return Status::Unsupported(msg);
  if (status.IsInvalidArgument()) return Status::InvalidArgument(msg);
  if (status.IsIOError() && status.ToString().find("No space") != std::string::npos) {
    return Status::NoSpace(msg);
  }
  return Status::IOError(msg);
}

}  // namespace

struct Db::Rep {
  std::array<rocksdb::ColumnFamilyHandle*, static_cast<size_t>(Cf::kCount)> handles{};
  std::unique_ptr<rocksdb::DB> db;
  rocksdb::ColumnFamilyHandle* cf(Cf which) const { return handles[static_cast<size_t>(which)]; }
};

struct WriteBatch::Rep {
  const Db::Rep& db;
  rocksdb::WriteBatch batch;
};

struct DbIterator::Rep {
  std::unique_ptr<rocksdb::Iterator> it;
};

struct PinnedValue::Rep {
  rocksdb::PinnableSlice slice;
};

WriteBatch::WriteBatch(const Db& db, size_t reserve_bytes)
    : rep_(new Rep{*db.rep_, rocksdb::WriteBatch(reserve_bytes)}) {}
WriteBatch::~WriteBatch() = default;
WriteBatch::WriteBatch(WriteBatch&&) noexcept = default;
WriteBatch& WriteBatch::operator=(WriteBatch&&) noexcept = default;

void WriteBatch::Put(Cf family, std::string_view key, std::string_view value) {
  // RocksDB's batches fail only past 4 GiB of content, which a batch of one
  // import window (32 MiB) never reaches.
  rep_->batch.Put(rep_->db.cf(family), key, value).PermitUncheckedError();
}

void WriteBatch::Delete(Cf family, std::string_view key) {
  rep_->batch.Delete(rep_->db.cf(family), key).PermitUncheckedError();
}

void WriteBatch::Clear() { rep_->batch.Clear(); }

size_t WriteBatch::Count() const { return static_cast<size_t>(rep_->batch.Count()); }
size_t WriteBatch::DataSize() const { return rep_->batch.GetDataSize(); }

DbIterator::DbIterator(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
DbIterator::~DbIterator() = default;
DbIterator::DbIterator(DbIterator&&) noexcept = default;
void DbIterator::SeekToFirst() { rep_->it->SeekToFirst(); }
void DbIterator::Seek(std::string_view key) { rep_->it->Seek(key); }
bool DbIterator::Valid() const { return rep_->it->Valid(); }
void DbIterator::Next() { rep_->it->Next(); }
std::string_view DbIterator::key() const { return rep_->it->key().ToStringView(); }
std::string_view DbIterator::value() const { return rep_->it->value().ToStringView(); }
Status DbIterator::status(std::string_view context) const {
  return FromRocks(rep_->it->status(), context);
}

PinnedValue::PinnedValue() : rep_(new Rep) {}
PinnedValue::~PinnedValue() = default;
PinnedValue::PinnedValue(PinnedValue&&) noexcept = default;
PinnedValue& PinnedValue::operator=(PinnedValue&&) noexcept = default;
std::string_view PinnedValue::view() const { return rep_->slice.ToStringView(); }

Db::Db(Mode mode) : mode_(mode), rep_(new Rep) {}

std::string_view Db::FamilyName(Cf which) { return kCfNames[static_cast<size_t>(which)]; }

Result<std::unique_ptr<Db>> Db::Open(const fs::path& db_dir, Mode mode, Profile profile) {
  std::unique_ptr<Db> db(new Db(mode));
  rocksdb::DBOptions options = MakeDbOptions(mode, profile);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status status =
      mode == Mode::kReader
          ? rocksdb::DB::OpenForReadOnly(options, db_dir.string(), Families(profile), &handles,
                                         &raw,
                                         /*error_if_wal_file_exists=*/false)
          : rocksdb::DB::Open(options, db_dir.string(), Families(profile), &handles, &raw);
  if (!status.ok()) return FromRocks(status, "opening the database in " + db_dir.string());
  db->rep_->db.reset(raw);
  for (size_t i = 0; i < handles.size(); ++i) db->rep_->handles[i] = handles[i];
  return db;
}

uint64_t Db::TableFiles(Cf which) const {
  uint64_t files = 0;
  for (int level = 0; level < 7; ++level) {
    std::string value;
    if (rep_->db->GetProperty(rep_->cf(which), "rocksdb.num-files-at-level" + std::to_string(level),
                              &value)) {
      files += std::strtoull(value.c_str(), nullptr, 10);
    }
  }
  return files;
}

// Keys in recipes and file_info are file digests, and in chunks and
// chunk_info chunk digests: random, so the few keys one small import flushes
// rarely overlap older files, and leveled compaction moves such files down
// whole instead of merging them. A store of 300 one-file imports had 297
// files per family, all opened by every later open. A writer that leaves a
// family fragmented merges it before closing (for these index-only families
// that is a small rewrite; chunk payloads live in blob files and stay put).
void Db::MergeFragmentedFamilies() {
  constexpr uint64_t kMaxFilesPerFamily = 32;
  for (size_t i = 0; i < kCfNames.size(); ++i) {
    const uint64_t files = TableFiles(static_cast<Cf>(i));
    if (files <= kMaxFilesPerFamily) continue;
    rocksdb::CompactRangeOptions options;
    options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
    rocksdb::Status status = rep_->db->CompactRange(options, rep_->handles[i], nullptr, nullptr);
    // Not merging only costs later opens time; a full disk is reported elsewhere.
    if (!status.ok()) {
      Logger("rocksdb")->debug("merging {} files of {}: {}", files, kCfNames[i], status.ToString());
      return;
    }
  }
}

Db::~Db() {
  if (!rep_->db) return;
  if (writer()) MergeFragmentedFamilies();
  for (auto* handle : rep_->handles) {
    if (handle != nullptr) rep_->db->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  }
  rep_->db->Close().PermitUncheckedError();
  rep_->db.reset();
}

Result<std::optional<std::string>> Db::Get(Cf which, std::string_view key) const {
  std::string value;
  rocksdb::Status status = rep_->db->Get(rocksdb::ReadOptions(), rep_->cf(which), key, &value);
  if (status.IsNotFound()) return std::optional<std::string>();
  if (!status.ok()) return FromRocks(status, "reading " + std::string(FamilyName(which)));
  return std::optional<std::string>(std::move(value));
}

// Debian's RocksDB computes its CRC32C in software, which cost a fifth of a
// cold read; values read this way carry their own checksum, bound to their
// key, so RocksDB's check of the same bytes is skipped.
Result<std::optional<PinnedValue>> Db::GetPinnedUnchecked(Cf which, std::string_view key) const {
  rocksdb::ReadOptions options;
  options.verify_checksums = false;
  PinnedValue value;
  rocksdb::Status status = rep_->db->Get(options, rep_->cf(which), key, &value.rep_->slice);
  if (status.IsNotFound()) return std::optional<PinnedValue>();
  if (status.IsIOError()) {
    return Status::IOError("reading " + std::string(FamilyName(which)) + ": " + status.ToString());
  }
  if (!status.ok()) return FromRocks(status, "reading " + std::string(FamilyName(which)));
  return std::optional<PinnedValue>(std::move(value));
}

Result<bool> Db::Contains(Cf which, std::string_view key) const {
  ASSIGN_OR_RETURN(auto value, Get(which, key));
  return value.has_value();
}

Status Db::Write(WriteBatch& batch, bool durable) {
  rocksdb::WriteOptions options;
  options.sync = durable;
  options.disableWAL = !durable;
  return FromRocks(rep_->db->Write(options, &batch.rep_->batch), "writing to the database");
}

Status Db::FlushAll() {
  std::vector<rocksdb::ColumnFamilyHandle*> all(rep_->handles.begin(), rep_->handles.end());
  rocksdb::FlushOptions options;
  options.wait = true;
  return FromRocks(rep_->db->Flush(options, all), "flushing the database");
}

Status Db::CompactAll(bool collect_blobs) {
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (size_t i = 0; i < kCfNames.size(); ++i) {
    const bool blobs = collect_blobs && static_cast<Cf>(i) == Cf::kChunks;
    options.blob_garbage_collection_policy = blobs ? rocksdb::BlobGarbageCollectionPolicy::kForce
                                                   : rocksdb::BlobGarbageCollectionPolicy::kDisable;
    options.blob_garbage_collection_age_cutoff = 1.0;
    RETURN_IF_ERROR(FromRocks(rep_->db->CompactRange(options, rep_->handles[i], nullptr, nullptr),
                              "compacting " + std::string(kCfNames[i])));
  }
  return Status::Ok();
}

DbIterator Db::NewIterator(Cf which) const {
  auto rep = std::make_unique<DbIterator::Rep>();
  rep->it.reset(rep_->db->NewIterator(rocksdb::ReadOptions(), rep_->cf(which)));
  return DbIterator(std::move(rep));
}

std::string Db::StateFingerprint(const fs::path& db_dir) {
  std::string fingerprint;
  for (const fs::path& path : {db_dir / "CURRENT"}) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) continue;
    fingerprint += std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
                   std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) +
                   ";";
  }
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(db_dir, error)) {
    if (!entry.path().filename().string().starts_with("MANIFEST-")) continue;
    struct stat st {};
    if (stat(entry.path().c_str(), &st) != 0) continue;
    fingerprint += entry.path().filename().string() + ":" + std::to_string(st.st_size) + ":" +
                   std::to_string(st.st_mtim.tv_nsec) + ";";
  }
  return fingerprint;
}

}  // namespace re2po
