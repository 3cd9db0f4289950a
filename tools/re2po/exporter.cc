#include "tools/re2po/exporter.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

namespace re2po::cli {
namespace stdfs = std::filesystem;
namespace {

constexpr size_t kBufferSize = 4 << 20;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  Status Close(const std::string& what) {
    int fd = fd_;
    fd_ = -1;
    return close(fd) == 0 ? Status::Ok() : Status::FromErrno(errno, "closing " + what);
  }

 private:
  int fd_;
};

Status WriteAll(int fd, const uint8_t* data, size_t size, const std::string& what) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "writing " + what);
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status CopyFile(Store& store, const TreeEntry& entry, const stdfs::path& path, uint64_t& done,
                uint64_t total, const ProgressFn& progress) {
  ASSIGN_OR_RETURN(auto recipe, store.FileRecipe(entry.digest));
  Fd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) return Status::FromErrno(errno, "creating " + path.string());
  std::vector<uint8_t> buffer(kBufferSize);
  for (uint64_t offset = 0; offset < recipe->size();) {
    auto n = store.ReadFile(*recipe, offset, buffer);
    if (!n.ok()) return n.status().WithContext("reading " + path.filename().string());
    RETURN_IF_ERROR(WriteAll(fd.get(), buffer.data(), *n, path.string()));
    offset += *n;
    done += *n;
    if (progress) progress(done, total);
  }
  return fd.Close(path.string());
}

Status SetMetadata(const stdfs::path& path, const TreeEntry& entry) {
  struct timespec times[2];
  times[0].tv_sec = times[1].tv_sec = entry.mtime_ns / 1'000'000'000;
  times[0].tv_nsec = times[1].tv_nsec = entry.mtime_ns % 1'000'000'000;
  if (entry.type != EntryType::kSymlink && chmod(path.c_str(), entry.mode) != 0) {
    return Status::FromErrno(errno, "chmod " + path.string());
  }
  if (utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return Status::FromErrno(errno, "setting times of " + path.string());
  }
  return Status::Ok();
}

// The destination must be empty so that the rename below can replace it; its
// path is made absolute so that "." and a trailing slash name a real entry.
Result<stdfs::path> CheckDestination(const stdfs::path& destination) {
  std::error_code error;
  stdfs::path target = stdfs::absolute(destination, error).lexically_normal();
  if (error) return Status::FromErrno(error.value(), "resolving " + destination.string());
  if (!target.has_filename()) target = target.parent_path();
  const stdfs::file_status existing = stdfs::symlink_status(target, error);
  if (stdfs::exists(existing) &&
      (!stdfs::is_directory(existing) || !stdfs::is_empty(target, error))) {
    return Status::AlreadyExists("export destination " + destination.string() +
                                 " exists and is not an empty directory");
  }
  stdfs::create_directories(target.parent_path(), error);
  if (error) return Status::FromErrno(error.value(), "creating " + target.parent_path().string());
  return target;
}

// A staging directory beside the destination (same filesystem, so the final
// rename is atomic): a reader of the destination sees the whole version or
// nothing, and a failed or killed export leaves no file that looks complete.
Result<stdfs::path> MakeStaging(const stdfs::path& target) {
  std::string name =
      (target.parent_path() / ("." + target.filename().string())).string() + ".re2po-export-XXXXXX";
  if (mkdtemp(name.data()) == nullptr) {
    return Status::FromErrno(errno, "creating a staging directory beside " + target.string());
  }
  return stdfs::path(name);
}

// Directories get their recorded modes last, and a read-only one would stop
// the removal of what it holds.
void RemoveStaging(const stdfs::path& staging) {
  std::error_code error;
  chmod(staging.c_str(), 0700);
  for (auto it = stdfs::recursive_directory_iterator(staging, error);
       !error && it != stdfs::recursive_directory_iterator(); it.increment(error)) {
    if (it->is_directory(error) && !it->is_symlink(error)) chmod(it->path().c_str(), 0700);
  }
  stdfs::remove_all(staging, error);
}

Status WriteTree(Store& store, const VersionRecord& version, const stdfs::path& root,
                 const ProgressFn& progress) {
  ASSIGN_OR_RETURN(auto tree, store.Tree(version));
  uint64_t done = 0;
  for (uint32_t i = 1; i < tree->size(); ++i) {
    const TreeEntry& entry = tree->entry(i);
    stdfs::path path = root / tree->PathOf(i);
    if (entry.type == EntryType::kDirectory) {
      if (mkdir(path.c_str(), 0700) != 0) return Status::FromErrno(errno, "mkdir " + path.string());
    } else if (entry.type == EntryType::kSymlink) {
      if (symlink(entry.target.c_str(), path.c_str()) != 0) {
        return Status::FromErrno(errno, "symlink " + path.string());
      }
    } else {
      RETURN_IF_ERROR(CopyFile(store, entry, path, done, version.logical_bytes, progress));
    }
  }
  // Children first, so a read-only directory mode does not block its contents.
  for (uint32_t i = static_cast<uint32_t>(tree->size()); i-- > 0;) {
    RETURN_IF_ERROR(SetMetadata(root / tree->PathOf(i), tree->entry(i)));
  }
  return Status::Ok();
}

}  // namespace

Status ExportVersion(Store& store, const VersionRecord& version, const stdfs::path& destination,
                     const ProgressFn& progress) {
  ASSIGN_OR_RETURN(stdfs::path target, CheckDestination(destination));
  ASSIGN_OR_RETURN(stdfs::path staging, MakeStaging(target));
  Status status = WriteTree(store, version, staging, progress);
  if (status.ok() && rename(staging.c_str(), target.c_str()) != 0) {
    status = Status::FromErrno(errno, "moving the exported version to " + destination.string());
  }
  if (!status.ok()) {
    RemoveStaging(staging);
    return status.WithContext("nothing was written to " + destination.string());
  }
  return Status::Ok();
}

Status StreamFile(Store& store, const Digest& file, std::FILE* out) {
  ASSIGN_OR_RETURN(auto recipe, store.FileRecipe(file));
  std::vector<uint8_t> buffer(kBufferSize);
  for (uint64_t offset = 0; offset < recipe->size();) {
    ASSIGN_OR_RETURN(size_t n, store.ReadFile(*recipe, offset, buffer));
    if (std::fwrite(buffer.data(), 1, n, out) != n)
      return Status::FromErrno(errno, "writing output");
    offset += n;
  }
  if (std::fflush(out) != 0) return Status::FromErrno(errno, "writing output");
  return Status::Ok();
}

}  // namespace re2po::cli
