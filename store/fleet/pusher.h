// Publishing versions of a local store to a remote: upload the chunks the
// remote lacks in packs, one version object per version, then append a
// signed log record and rewrite the head. Everything a record names is
// uploaded before the record, so a push that dies leaves the remote as it
// was (plus unreferenced objects) or with its versions whole; a rerun
// rebuilds the same packs and skips those already there.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/base/names.h"
#include "store/base/progress.h"
#include "store/crypto/ed25519.h"
#include "store/remote/object_store.h"
#include "store/store.h"

namespace re2po {

struct PushOptions {
  std::vector<VersionRef> refs;     // MODEL or MODEL@VERSION; empty: every version
  const SigningKey* key = nullptr;  // null: unsigned (nodes that trust a key refuse it)
  uint64_t pack_bytes = uint64_t{64} << 20;
  unsigned parallel_uploads = 4;
  ProgressFn progress;  // bytes uploaded of the bytes to upload
};

struct PushSummary {
  std::vector<std::string> pushed;         // "model@version"
  std::vector<std::string> already_there;  // the same bytes were on the remote
  std::vector<std::string> access_pushed;  // models whose access the remote now carries
  uint64_t chunks_uploaded = 0;
  uint64_t packs_uploaded = 0;
  uint64_t packs_already_there = 0;  // a rerun after a push that died
  uint64_t bytes_uploaded = 0;       // packs and version objects
  std::string log_record;            // empty when nothing was pushed
  uint64_t head_generation = 0;
};

Result<PushSummary> Push(Store& local, ObjectStore& remote, const PushOptions& options);

}  // namespace re2po
