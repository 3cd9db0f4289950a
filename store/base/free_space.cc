#include "store/base/free_space.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>

namespace re2po {

uint64_t FreeSpaceReserve(uint64_t filesystem_bytes) {
  return std::clamp<uint64_t>(filesystem_bytes / 20, uint64_t{8} << 20, uint64_t{64} << 20);
}

Status CheckFreeSpace(const std::filesystem::path& dir, uint64_t bytes) {
  struct statvfs fs {};
  if (statvfs(dir.c_str(), &fs) != 0) return Status::FromErrno(errno, "statvfs " + dir.string());
  const uint64_t available = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  const uint64_t reserve = FreeSpaceReserve(static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize);
  if (available >= reserve && available - reserve >= bytes) return Status::Ok();
  return Status::NoSpace("no space left for the store in " + dir.string() + ": " +
                         std::to_string(available >> 20) + " MiB free, " +
                         std::to_string(bytes >> 20) + " MiB more needed and " +
                         std::to_string(reserve >> 20) +
                         " MiB kept in reserve; free space (re2po rm, then re2po gc) or move "
                         "the store");
}

uint64_t DiskUsage(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  uint64_t total = 0;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(dir, error); !error && it != fs::end(it);
       it.increment(error)) {
    struct stat st {};
    if (lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      uint64_t allocated = static_cast<uint64_t>(st.st_blocks) * 512;
      uint64_t used = (static_cast<uint64_t>(st.st_size) + 4095) / 4096 * 4096;
      total += std::min(allocated, used);
    }
  }
  return total;
}

}  // namespace re2po
