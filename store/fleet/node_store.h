// A node's view of a remote as a Store, so the mount serves it exactly as
// it serves a local store: the catalog comes from the remote's signed
// catalog (polled, and kept in the node cache for when the remote is down),
// trees and recipes from version objects, and chunks from the node cache,
// or else from the remote's packs by ranged GETs, each chunk verified
// against its name before it is served or cached.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>

#include "store/crypto/ed25519.h"
#include "store/crypto/keyring.h"
#include "store/remote/object_store.h"
#include "store/store.h"

namespace re2po {

struct NodeOptions {
  std::unique_ptr<ObjectStore> remote;
  std::filesystem::path cache_dir;
  std::optional<uint64_t> cache_max_bytes;  // NodeCacheOptions::max_bytes
  // Catalogs must be signed by this key; without it nothing is verified.
  std::optional<PublicKey> trust;
  // Keys of protected models; without one, their chunks are fetched only
  // to be refused.
  std::shared_ptr<const Keyring> keyring;
  size_t memory_cache_bytes = size_t{256} << 20;  // decoded chunks
  // Refresh() asks the remote at most this often.
  std::chrono::milliseconds poll_every{2000};
  // One ranged GET fetches a chunk and the chunks after it in its file that
  // lie next to it in the same pack, up to this many bytes.
  uint64_t fetch_window_bytes = uint64_t{8} << 20;
  // A file about to be read whole (Store::ExpectReads) is fetched in ranged
  // GETs planned together (store/fleet/fetch_plan.h), this many in flight:
  // chunks this close in a pack share a GET, and a plan covers this much.
  size_t fetch_parallelism = 8;
  uint64_t fetch_gap_bytes = uint64_t{512} << 10;
  uint64_t fetch_plan_bytes = uint64_t{64} << 20;
};

// Opens the node cache (one process at a time) and the catalog: from the
// remote when it answers, else from the cache (said once in the log).
Result<std::unique_ptr<Store>> OpenNodeStore(NodeOptions options);

}  // namespace re2po
