// RAII ownership of the RocksDB database inside a store and its column
// families. Internal to store/: nothing above it sees RocksDB types.
//
// Readers open the database read-only, not as RocksDB secondaries: blob
// files are not supported with secondaries (rocksdb#13296). A reader sees
// the state at its open and reopens to catch up (StoreImpl::Refresh).
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "store/status.h"

namespace re2po {

enum class Cf : size_t {
  kMeta = 0,   // "default": schema, generation, counters
  kChunks,     // chunk digest -> codec byte + payload (blob files)
  kChunkInfo,  // chunk digest -> dtype, raw size, stored size
  kRecipes,    // file digest -> extents
  kFileInfo,   // file digest -> format and tensors
  kCatalog,    // models, versions, trees
  kCount,
};

Status FromRocks(const rocksdb::Status& status, std::string_view context);

class Db {
 public:
  enum class Mode { kCreate, kWriter, kReader };
  static Result<std::unique_ptr<Db>> Open(const std::filesystem::path& db_dir, Mode mode);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  rocksdb::DB* raw() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* cf(Cf which) const { return handles_[static_cast<size_t>(which)]; }
  bool writer() const { return mode_ != Mode::kReader; }

  // nullopt when the key is absent.
  Result<std::optional<std::string>> Get(Cf which, std::string_view key) const;
  Result<bool> Contains(Cf which, std::string_view key) const;
  Status Write(rocksdb::WriteBatch& batch, bool durable);
  // Flushes every column family together (atomic_flush) and waits.
  Status FlushAll();
  // A cheap fingerprint of the database's state (CURRENT and its MANIFEST):
  // readers reopen when it changes.
  static std::string StateFingerprint(const std::filesystem::path& db_dir);
  std::unique_ptr<rocksdb::Iterator> NewIterator(Cf which) const;

 private:
  explicit Db(Mode mode) : mode_(mode) {}
  void MergeFragmentedFamilies();

  Mode mode_;
  std::array<rocksdb::ColumnFamilyHandle*, static_cast<size_t>(Cf::kCount)> handles_{};
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace re2po
