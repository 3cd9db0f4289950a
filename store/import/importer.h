// Import: scan the source, plan each file, store new chunks (hashing and
// compressing on every core), then make the version visible in one durable
// write once everything it needs is durable.
#pragma once

#include <filesystem>

#include "store/base/status.h"
#include "store/catalog/catalog.h"
#include "store/db/db.h"
#include "store/import/chunk_writer.h"
#include "store/import/import_request.h"

namespace re2po {

// The store an import writes into: its database (opened by the writer, who
// holds the lock), its directory (free-space checks) and how it reads a
// stored chunk (the bases of delta chunks, through the store's cache).
struct ImportTarget {
  Db& db;
  std::filesystem::path dir;
  ChunkReader read_chunk;
};

// Imports `request` as a new version of the catalog `catalog` describes
// (the writer's current one). On success the version is committed; the
// caller publishes the new catalog.
Result<ImportSummary> ImportVersion(const ImportTarget& target, const CatalogSnapshot& catalog,
                                    const ImportRequest& request);

}  // namespace re2po
