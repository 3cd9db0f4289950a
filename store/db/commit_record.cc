#include "store/db/commit_record.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>

#include "store/base/log.h"

namespace re2po {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kMagic = "re2po-last-commit 1";

std::optional<uint64_t> ParseNumber(std::string_view text) {
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

Result<std::string> ManifestNamedByCurrent(const fs::path& db_dir) {
  std::ifstream current(db_dir / "CURRENT");
  std::string name;
  if (!current || !std::getline(current, name) || !name.starts_with("MANIFEST-")) {
    return Status::Corruption("the database's CURRENT file (" + (db_dir / "CURRENT").string() +
                              ") does not name a MANIFEST");
  }
  return name;
}

Status SyncPath(const fs::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "opening " + path.string());
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Status::FromErrno(err, "syncing " + path.string());
  return Status::Ok();
}

}  // namespace

std::string EncodeCommitRecord(const CommitRecord& record) {
  std::ostringstream out;
  out << kMagic << "\n"
      << "generation " << record.generation << "\n"
      << "manifest " << record.manifest << "\n"
      << "manifest_size " << record.manifest_size << "\n";
  return out.str();
}

std::optional<CommitRecord> DecodeCommitRecord(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string line;
  if (!std::getline(in, line) || line != kMagic) return std::nullopt;
  CommitRecord record;
  bool has_generation = false, has_manifest = false, has_size = false;
  while (std::getline(in, line)) {
    const size_t space = line.find(' ');
    if (space == std::string::npos) return std::nullopt;
    const std::string_view key = std::string_view(line).substr(0, space);
    const std::string_view value = std::string_view(line).substr(space + 1);
    if (key == "generation") {
      auto number = ParseNumber(value);
      if (!number) return std::nullopt;
      record.generation = *number;
      has_generation = true;
    } else if (key == "manifest") {
      if (!value.starts_with("MANIFEST-") || value.find('/') != std::string_view::npos) {
        return std::nullopt;
      }
      record.manifest = std::string(value);
      has_manifest = true;
    } else if (key == "manifest_size") {
      auto number = ParseNumber(value);
      if (!number) return std::nullopt;
      record.manifest_size = *number;
      has_size = true;
    }  // unknown keys: written by a newer re2po, ignored
  }
  if (!has_generation || !has_manifest || !has_size) return std::nullopt;
  return record;
}

std::optional<CommitRecord> ReadCommitRecord(const fs::path& store_dir) {
  const fs::path path = store_dir / kCommitRecordName;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::optional<CommitRecord> record = DecodeCommitRecord(text);
  if (!record) {
    Logger("store")->warn("{} is unreadable; the MANIFEST check is skipped this time",
                          path.string());
  }
  return record;
}

Result<CommitRecord> CurrentCommitRecord(const fs::path& db_dir, uint64_t generation) {
  CommitRecord record;
  record.generation = generation;
  ASSIGN_OR_RETURN(record.manifest, ManifestNamedByCurrent(db_dir));
  std::error_code error;
  record.manifest_size = fs::file_size(db_dir / record.manifest, error);
  if (error) return Status::FromErrno(error.value(), "reading the size of " + record.manifest);
  return record;
}

Status WriteCommitRecord(const fs::path& store_dir, const CommitRecord& record) {
  const fs::path path = store_dir / kCommitRecordName;
  const fs::path temporary = store_dir / (std::string(kCommitRecordName) + ".tmp");
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << EncodeCommitRecord(record);
    out.flush();
    if (!out) return Status::IOError("cannot write " + temporary.string());
  }
  RETURN_IF_ERROR(SyncPath(temporary, O_RDONLY));
  std::error_code error;
  fs::rename(temporary, path, error);
  if (error) return Status::FromErrno(error.value(), "renaming " + temporary.string());
  return SyncPath(store_dir, O_RDONLY | O_DIRECTORY);
}

Status CheckCommitRecord(const std::optional<CommitRecord>& recorded, const fs::path& db_dir,
                         uint64_t generation) {
  if (!recorded) return Status::Ok();
  constexpr const char* kAdvice =
      ": the store is damaged (a truncated or stale MANIFEST); restore it from a backup "
      "(docs/operations.md)";
  if (generation < recorded->generation) {
    return Status::Corruption("the database opened at catalog generation " +
                              std::to_string(generation) + ", older than the " +
                              std::to_string(recorded->generation) +
                              " recorded in last-commit; its MANIFEST has lost commits" + kAdvice);
  }
  Result<std::string> current = ManifestNamedByCurrent(db_dir);
  if (!current.ok() || *current != recorded->manifest) return Status::Ok();  // rolled since
  std::error_code error;
  const uint64_t size = fs::file_size(db_dir / recorded->manifest, error);
  if (!error && size < recorded->manifest_size) {
    return Status::Corruption("the database's " + recorded->manifest + " is " +
                              std::to_string(size) + " bytes, shorter than the " +
                              std::to_string(recorded->manifest_size) + " recorded in last-commit" +
                              kAdvice);
  }
  return Status::Ok();
}

}  // namespace re2po
