#include "store/db/reader_open.h"

#include <chrono>
#include <optional>
#include <thread>

#include "store/db/commit_record.h"
#include "store/db/keys.h"
#include "store/db/meta.h"

namespace re2po {
namespace fs = std::filesystem;
namespace {

Result<ReaderDb> OpenStable(const fs::path& db_dir) {
  constexpr int kAttempts = 50;
  for (int attempt = 1;; ++attempt) {
    std::string before = Db::StateFingerprint(db_dir);
    auto db = Db::Open(db_dir, Db::Mode::kReader);
    bool stable = Db::StateFingerprint(db_dir) == before;
    if (stable && !db.ok()) return db.status();
    if (stable) return ReaderDb{std::move(db).value(), std::move(before)};
    if (attempt == kAttempts) {
      return Status::Busy("the store kept changing while it was being opened; try again");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10 * attempt));
  }
}

}  // namespace

fs::path DbDir(const fs::path& store_dir) { return store_dir / "db"; }

Result<ReaderDb> OpenReaderDb(const fs::path& store_dir) {
  std::optional<CommitRecord> recorded = ReadCommitRecord(store_dir);
  ASSIGN_OR_RETURN(ReaderDb reader, OpenStable(DbDir(store_dir)));
  ASSIGN_OR_RETURN(uint64_t generation, ReadCounter(*reader.db, keys::kGeneration));
  RETURN_IF_ERROR(CheckCommitRecord(recorded, DbDir(store_dir), generation));
  return reader;
}

}  // namespace re2po
