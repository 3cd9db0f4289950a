// A version's identity and provenance as `show` and `log` print them, and
// its signature checked against a trusted key (`sign`, `verify`).
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>

#include "store/crypto/ed25519.h"
#include "store/store.h"

namespace re2po::cli {

// Stored files -> "MODEL@VERSION" of a version holding them (the oldest),
// found by walking the trees of the catalog until every file is placed.
Result<std::map<Digest, std::string>> VersionsHoldingFiles(Store& store,
                                                           const std::vector<Digest>& files);

// id, short_id, imported_by, host, tool, parent, delta_bases, signature.
Result<nlohmann::json> ProvenanceJson(Store& store, const VersionRecord& version);

// Ok when `version` carries a signature by `trusted` over its current id
// and metadata; PermissionDenied saying what is wrong otherwise.
Status CheckSignature(Store& store, const VersionRecord& version, const PublicKey& trusted);

}  // namespace re2po::cli
