// Import: scan the source, plan each file, store new chunks (hashing and
// compressing on every core), then make the version visible in one durable
// write once everything it needs is durable.
#pragma once

#include "store/store_impl.h"

namespace re2po {

Result<ImportSummary> RunImport(StoreImpl& store, const ImportRequest& request);

}  // namespace re2po
