// From a stored chunk value to the chunk's verified bytes: decode by codec,
// XOR a delta onto its base, check the checksum (and, asked to, the SHA-256
// name). Shared by the local store's reads and a node's reads of fetched
// chunks.
#pragma once

#include <functional>
#include <string_view>

#include "store/base/digest.h"
#include "store/base/status.h"
#include "store/chunks/chunk_bytes.h"
#include "store/crypto/keyring.h"

namespace re2po {

// kFast checks the value's checksum (values written before checksums are
// re-hashed); kFull also checks the chunk's name (its SHA-256, or for a
// sealed chunk its keyed name), as verify does and as a node does for
// anything that came from a remote.
enum class ChunkCheck { kFast, kFull };

// Fetches the base of a delta or derived chunk. Called only for codec-3 and
// codec-5 values.
using BaseChunkFn = std::function<Result<ChunkBytes>(const Digest& base)>;

// `base_of_delta`: the value is wanted as the base of a delta, so it must
// not be one itself (the writer never makes one; refusing it keeps a
// crafted cycle from recursing). A sealed value (codec 4) is opened with
// its key from `keyring`: PermissionDenied, naming the key id, when there
// is no such key; Corruption when it fails authentication.
Result<ChunkBytes> DecodeChunkValue(const Digest& name, std::string_view value, ChunkCheck check,
                                    bool base_of_delta, const BaseChunkFn& base_chunk,
                                    const Keyring* keyring);

}  // namespace re2po
