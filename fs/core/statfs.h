// What statfs (df) says about a mount. A local store is full by definition
// (read-only, nothing free): its size is the sum of its versions' logical
// sizes. A node has a disk cache with a bound: its size is the bound, used
// what the cache holds, and available the rest.
#pragma once

#include <sys/statvfs.h>

#include <cstdint>

#include "store/catalog/catalog.h"

namespace re2po::fs {

struct RepositorySize {
  uint64_t logical_bytes = 0;  // the sum of every version's file sizes
  uint64_t files = 0;          // the sum of every version's file count
  bool node = false;           // then the cache figures below are what df shows
  uint64_t cache_bytes = 0;
  uint64_t cache_limit_bytes = 0;  // 0: not known, taken as cache_bytes
};

inline constexpr unsigned long kStatfsBlockSize = 4096;

RepositorySize SizeOfCatalog(const CatalogSnapshot& catalog);
struct statvfs StatfsOf(const RepositorySize& size);

}  // namespace re2po::fs
