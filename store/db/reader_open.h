// Opening a store's database for reading, safely while a writer works.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "store/base/status.h"
#include "store/db/db.h"

namespace re2po {

// The database directory inside a store.
std::filesystem::path DbDir(const std::filesystem::path& store_dir);

struct ReaderDb {
  std::unique_ptr<Db> db;
  std::string fingerprint;  // Db::StateFingerprint at the open
};

// A read-only open reads the MANIFEST, then the WAL, then opens files; a
// writer flushing or compacting meanwhile can make it see half a state (a
// committed version without its flushed recipes) or miss a deleted file.
// So this opens until the database did not change across the open, and then
// refuses a state older than the store's last-commit record
// (store/db/commit_record.h), which it reads first: a writer updates the
// record only after committing.
Result<ReaderDb> OpenReaderDb(const std::filesystem::path& store_dir);

}  // namespace re2po
