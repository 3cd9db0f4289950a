// The metadata family ("default"): schema version, store id, counters
// (docs/format.md). Every open checks the schema before anything else.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "store/base/status.h"
#include "store/db/db.h"

namespace re2po {

// 1: the first layout. 2: chunk values may carry a checksum and use the
// byte-plane codec (docs/format.md). A writer opening a schema-1 store
// records 2 before it writes anything; schema-1 values stay readable.
inline constexpr uint32_t kSchemaVersion = 2;

// The metadata of a new, empty store: schema, a random id, creation time,
// generation 0 and the first import sequence number. Durable on return.
Status WriteInitialMeta(Db& db);

// A fixed64 counter of the metadata family (keys::kGeneration, kNextSeq).
Result<uint64_t> ReadCounter(const Db& db, std::string_view key);

// The schema the store was written with; `dir` names it in messages.
Result<uint32_t> ReadSchema(const Db& db, const std::filesystem::path& dir);
// Refuses stores written by a newer schema than this build knows.
Status CheckSchema(const Db& db, const std::filesystem::path& dir);
// Before its first write a writer records the schema it writes, so that an
// older re2po refuses the store cleanly instead of meeting chunk values it
// cannot decode.
Status UpgradeSchema(Db& db, const std::filesystem::path& dir);

}  // namespace re2po
