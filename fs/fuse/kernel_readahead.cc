#include "fs/fuse/kernel_readahead.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "fs/fuse/mountinfo.h"

namespace re2po::fs {
namespace {

// mountinfo names the mountpoint with symlinks resolved. Only the parent is
// resolved here: the mountpoint itself is served by the caller.
Result<std::filesystem::path> ReadaheadFile(const std::filesystem::path& mountpoint) {
  Result<MountInfoEntry> found = FindMount(mountpoint, kRe2poMountType);
  if (!found.ok()) {
    std::error_code ec;
    const auto parent = std::filesystem::weakly_canonical(mountpoint.parent_path(), ec);
    if (!ec) found = FindMount(parent / mountpoint.filename(), kRe2poMountType);
  }
  ASSIGN_OR_RETURN(MountInfoEntry mount, std::move(found));
  return std::filesystem::path("/sys/class/bdi") / mount.device / "read_ahead_kb";
}

}  // namespace

Status SetKernelReadahead(const std::filesystem::path& mountpoint, size_t bytes) {
  ASSIGN_OR_RETURN(std::filesystem::path file, ReadaheadFile(mountpoint));
  std::ofstream out(file);
  out << (bytes >> 10) << "\n";
  out.flush();
  if (!out) {
    return Status::PermissionDenied("cannot write " + file.string() + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

Result<size_t> KernelReadahead(const std::filesystem::path& mountpoint) {
  ASSIGN_OR_RETURN(std::filesystem::path file, ReadaheadFile(mountpoint));
  std::ifstream in(file);
  size_t kib = 0;
  if (!(in >> kib)) return Status::IOError("cannot read " + file.string());
  return kib << 10;
}

}  // namespace re2po::fs
