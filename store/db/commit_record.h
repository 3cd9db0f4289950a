// A record of the database's state kept beside it, outside RocksDB.
//
// RocksDB reads a MANIFEST cut short (a torn copy, a disk that lost its tail)
// as complete: the store then opens at an older state, or empty, and a writer
// would go on to delete the files it no longer knows. The store therefore
// writes, after every commit of its own and every writer open, the catalog
// generation and the MANIFEST's name and size to <store>/last-commit
// (docs/format.md), and checks them before trusting an open:
//   - the catalog's generation must not be older than the recorded one;
//   - if CURRENT still names the recorded MANIFEST, it must not be shorter.
// Both only grow between records, so the check has no false alarms as long
// as it reads the record before opening the database (a writer records after
// it commits). A missing record (a store from before this check) is accepted.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "store/base/status.h"

namespace re2po {

struct CommitRecord {
  uint64_t generation = 0;
  std::string manifest;  // file name inside db/, e.g. MANIFEST-000012
  uint64_t manifest_size = 0;
};

inline constexpr const char* kCommitRecordName = "last-commit";

// nullopt when the store has no record yet, or an unreadable one (logged).
std::optional<CommitRecord> ReadCommitRecord(const std::filesystem::path& store_dir);

// The record for the database as it is now, at catalog `generation`.
Result<CommitRecord> CurrentCommitRecord(const std::filesystem::path& db_dir, uint64_t generation);

// Replaces the record atomically (temporary file, fsync, rename, fsync dir).
Status WriteCommitRecord(const std::filesystem::path& store_dir, const CommitRecord& record);

// Corruption when the open database is older or its MANIFEST shorter than
// `recorded`, read before the open.
Status CheckCommitRecord(const std::optional<CommitRecord>& recorded,
                         const std::filesystem::path& db_dir, uint64_t generation);

std::string EncodeCommitRecord(const CommitRecord& record);
std::optional<CommitRecord> DecodeCommitRecord(std::string_view text);

}  // namespace re2po
