#include "fs/core/statfs.h"

#include <algorithm>

namespace re2po::fs {
namespace {

fsblkcnt_t Blocks(uint64_t bytes) {
  return static_cast<fsblkcnt_t>((bytes + kStatfsBlockSize - 1) / kStatfsBlockSize);
}

}  // namespace

RepositorySize SizeOfCatalog(const CatalogSnapshot& catalog) {
  RepositorySize size;
  for (const ModelEntry& model : catalog.models()) {
    for (const VersionRecord& version : model.versions) {
      size.logical_bytes += version.logical_bytes;
      size.files += version.file_count;
    }
  }
  return size;
}

struct statvfs StatfsOf(const RepositorySize& size) {
  struct statvfs out {};
  out.f_bsize = kStatfsBlockSize;
  out.f_frsize = kStatfsBlockSize;
  out.f_namemax = 255;
  out.f_files = static_cast<fsfilcnt_t>(size.files);
  if (!size.node) {
    out.f_blocks = Blocks(size.logical_bytes);  // all used: nothing can be written
    return out;
  }
  const uint64_t limit = std::max(size.cache_limit_bytes, size.cache_bytes);
  out.f_blocks = Blocks(limit);
  const fsblkcnt_t used = Blocks(size.cache_bytes);
  out.f_bfree = out.f_blocks > used ? out.f_blocks - used : 0;
  out.f_bavail = out.f_bfree;
  return out;
}

}  // namespace re2po::fs
