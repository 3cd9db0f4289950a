// RAII ownership of the RocksDB database inside a store and its column
// families, and the only door to it: batches, iterators and reads go
// through the types here, so nothing outside store/db/ sees RocksDB.
//
// Readers open the database read-only, not as RocksDB secondaries: blob
// files are not supported with secondaries (rocksdb#13296). A reader sees
// the state at its open and reopens to catch up (StoreImpl::Refresh).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "store/base/status.h"

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

class Db;

// Puts and deletes applied together by Db::Write. Belongs to one database,
// which must outlive it.
class WriteBatch {
 public:
  // `reserve_bytes` sizes its buffer up front; Clear keeps the buffer, so a
  // writer that reuses one batch copies each value once and faults in no
  // new pages.
  explicit WriteBatch(const Db& db, size_t reserve_bytes = 0);
  ~WriteBatch();
  WriteBatch(WriteBatch&&) noexcept;
  WriteBatch& operator=(WriteBatch&&) noexcept;

  void Put(Cf family, std::string_view key, std::string_view value);
  void Delete(Cf family, std::string_view key);
  void Clear();
  size_t Count() const;
  size_t DataSize() const;  // bytes of keys and values it carries

 private:
  friend class Db;
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

// Walks one column family in key order. Holds the database's state as of
// its creation; must not outlive the Db.
class DbIterator {
 public:
  ~DbIterator();
  DbIterator(DbIterator&&) noexcept;

  void SeekToFirst();
  void Seek(std::string_view key);
  bool Valid() const;
  void Next();
  std::string_view key() const;
  std::string_view value() const;
  // Ok, or why the walk stopped early; `context` names what was being read.
  Status status(std::string_view context) const;

 private:
  friend class Db;
  struct Rep;
  explicit DbIterator(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

// A value read without a copy (a blob read straight into RocksDB's buffer):
// its bytes stay valid while this lives.
class PinnedValue {
 public:
  PinnedValue();
  ~PinnedValue();
  PinnedValue(PinnedValue&&) noexcept;
  PinnedValue& operator=(PinnedValue&&) noexcept;
  std::string_view view() const;

 private:
  friend class Db;
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

class Db {
 public:
  enum class Mode { kCreate, kWriter, kReader };
  // kStore: a repository (chunk payloads in blob files, kept until gc);
  // kNodeCache: a node's bounded cache of a remote (values inline, space
  // given back as chunks are evicted).
  enum class Profile { kStore, kNodeCache };
  static Result<std::unique_ptr<Db>> Open(const std::filesystem::path& db_dir, Mode mode,
                                          Profile profile = Profile::kStore);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  bool writer() const { return mode_ != Mode::kReader; }

  // nullopt when the key is absent.
  Result<std::optional<std::string>> Get(Cf which, std::string_view key) const;
  // The same without a copy and without RocksDB's own block checksum: for
  // values that carry a checksum of their own (chunk values). An I/O error
  // is kIOError, so a reader can tell a vanished blob file from damage.
  Result<std::optional<PinnedValue>> GetPinnedUnchecked(Cf which, std::string_view key) const;
  Result<bool> Contains(Cf which, std::string_view key) const;
  Status Write(WriteBatch& batch, bool durable);
  // Flushes every column family together (atomic_flush) and waits.
  Status FlushAll();
  // Rewrites every family whole; with `collect_blobs`, blob files too, so
  // the space of deleted chunks comes back (gc).
  Status CompactAll(bool collect_blobs);
  DbIterator NewIterator(Cf which) const;
  // How many table files hold the family (small imports fragment it).
  uint64_t TableFiles(Cf which) const;
  static std::string_view FamilyName(Cf which);

  // A cheap fingerprint of the database's state (CURRENT and its MANIFEST):
  // readers reopen when it changes.
  static std::string StateFingerprint(const std::filesystem::path& db_dir);

 private:
  friend class WriteBatch;
  struct Rep;
  explicit Db(Mode mode);
  void MergeFragmentedFamilies();

  Mode mode_;
  std::unique_ptr<Rep> rep_;
};

}  // namespace re2po
