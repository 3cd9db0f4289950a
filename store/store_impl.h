// The Store implementation's state, shared by the files that implement its
// concerns: store_open.cc (create, open), store_catalog.cc (the published
// catalog, catching up with writers), store_read.cc (reads), store_write.cc
// (import, remove), gc.cc, verify.cc.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "store/chunks/chunk_cache.h"
#include "store/chunks/chunk_decoder.h"
#include "store/chunks/in_flight.h"
#include "store/db/db.h"
#include "store/db/writer_lock.h"
#include "store/fetch_counters.h"
#include "store/store.h"

namespace re2po {

class StoreImpl final : public Store {
 public:
  StoreImpl(std::filesystem::path dir, std::unique_ptr<WriterLock> lock, std::unique_ptr<Db> db,
            std::string fingerprint, const StoreOptions& options);

  std::shared_ptr<const CatalogSnapshot> Catalog() const override;
  Result<bool> Refresh() override;
  Result<std::shared_ptr<const VersionTree>> Tree(const VersionRecord& version) override;
  Result<std::shared_ptr<const Recipe>> FileRecipe(const Digest& file) override;
  Result<FileInfo> FileDetails(const Digest& file) override;
  Result<ChunkBytes> ReadChunk(const Digest& chunk) override;
  Result<std::string> StoredChunkValue(const Digest& chunk) override;
  Result<ChunkInfo> ChunkDetails(const Digest& chunk) override;
  Result<std::vector<ChunkSlice>> ReadSlices(const Recipe& recipe, uint64_t offset,
                                             size_t length) override;
  Result<VerifyReport> Verify(const ProgressFn& progress) override;
  Result<StoreStats> Stats() override;
  const std::filesystem::path& dir() const override { return dir_; }
  std::string_view Kind() const override { return "local"; }
  StoreCounters Counters() const override;
  bool ChunkCached(const Digest& chunk) const override { return cache_.Contains(chunk); }

  Result<ImportSummary> Import(const ImportRequest& request) override;
  Status Remove(const std::string& model, uint64_t version) override;
  Status SetModelAccess(const std::string& model, const ModelAccess& access) override;
  Status PutSignature(const VersionRecord& version, const VersionSignature& signature) override;
  Result<std::optional<VersionSignature>> SignatureOf(const VersionRecord& version) override;
  Result<GcSummary> CollectGarbage(const ProgressFn& progress) override;

  // For the concern files.
  // The current database; readers swap it on Refresh, so hold the pointer
  // for the length of one operation.
  std::shared_ptr<Db> db() const;
  Status RequireWriter() const;
  // Fetches and checks a chunk without touching the cache: reads check the
  // value's checksum, verify (kFull) the chunk's SHA-256 name as well.
  // `base_of_delta`: the chunk is wanted as the base of a delta chunk, so
  // it must not be one itself.
  Result<ChunkBytes> FetchChunk(const Digest& chunk, ChunkCheck check = ChunkCheck::kFast,
                                bool base_of_delta = false) const;
  // Publishes a reloaded catalog after a commit of ours (and records it).
  Status ReloadCatalog();
  // Writers: updates <store>/last-commit (store/db/commit_record.h).
  void RecordCommit(uint64_t generation);
  // Readers: reopens the database if writers changed it since. With
  // `failed_on`, the database a read just failed on: reopens regardless,
  // unless another thread has already replaced it.
  Result<bool> ReopenIfChanged(const Db* failed_on = nullptr);

 private:
  // "delta", a derivation's name, ...: for Stats().
  std::string KindOfChunkWithBase(std::string_view key);
  std::filesystem::path dir_;
  std::unique_ptr<WriterLock> lock_;  // held for the life of a writer
  std::mutex reopen_mutex_;           // held across a reader's reopen (and db_fingerprint_)
  mutable std::mutex db_mutex_;       // guards the pointer only
  std::shared_ptr<Db> db_;
  std::string db_fingerprint_;              // readers: the state db_ was opened at
  std::shared_ptr<const Keyring> keyring_;  // may be null
  Result<ChunkBytes> BaseChunk(const Digest& base) const;
  Result<ChunkBytes> FetchChunkUncounted(const Digest& chunk, ChunkCheck check,
                                         bool base_of_delta) const;

  mutable ChunkCache cache_;  // internally synchronised
  InFlightFetches in_flight_;
  mutable FetchCounters fetch_counters_;  // fetches from the database

  mutable std::mutex catalog_mutex_;  // guards the pointer only, never held during I/O
  std::shared_ptr<const CatalogSnapshot> catalog_;

  std::mutex trees_mutex_;
  std::unordered_map<uint64_t, std::shared_ptr<const VersionTree>> trees_;  // by version seq
  std::mutex recipes_mutex_;
  std::unordered_map<Digest, std::shared_ptr<const Recipe>, DigestHash> recipes_;
};

// Every model and version in `db`, at its current generation.
Result<std::shared_ptr<const CatalogSnapshot>> LoadCatalog(const Db& db);

}  // namespace re2po
