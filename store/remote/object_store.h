// Where a remote lives: a flat namespace of objects under a prefix. Most
// objects are content-addressed and immutable (packs, version objects, log
// records); a few are small and mutable (the catalog head). S3 (Ceph RGW,
// AWS, MinIO) is one implementation (store/remote/s3_store.h); an OCI
// registry can sit behind the same interface.
//
// Implementations retry what is worth retrying (5xx, 429, timeouts, broken
// connections) with exponential backoff and jitter, within the deadline
// their options give one call; a call that runs out of time is kBusy
// ("timed out"), a missing object kNotFound, anything refused for good
// (403, 400) kPermissionDenied or kInvalidArgument. Messages name the
// object, never a credential.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/base/status.h"

namespace re2po {

struct ListedObject {
  std::string key;  // relative to the store's prefix
  uint64_t size = 0;
};

struct FetchedObject {
  std::string bytes;
  std::string etag;  // as the server gave it, quotes included
};

// What a store did, for metrics and the fleet figures. Monotonic counters.
struct ObjectStoreCounters {
  std::atomic<uint64_t> requests{0};        // every HTTP request sent, retries included
  std::atomic<uint64_t> bytes_received{0};  // response bodies
  std::atomic<uint64_t> bytes_sent{0};      // request bodies
  std::atomic<uint64_t> retries{0};
  std::atomic<uint64_t> errors{0};  // calls that failed after their retries

  // `status`, counted in errors unless it only says "not found" (an answer,
  // not a failure).
  Status CountFailure(Status status) {
    if (!status.ok() && !status.IsNotFound()) errors.fetch_add(1, std::memory_order_relaxed);
    return status;
  }
};

// What one pushed version keeps alive on a remote: its version object and
// the packs its reads need.
struct VersionReferences {
  std::string model;
  uint64_t version = 0;
  std::string object_key;
  std::vector<std::string> pack_keys;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // The whole object; kNotFound when it does not exist.
  virtual Result<std::string> Get(std::string_view key) = 0;
  // The object unless its ETag is still `etag` (then nullopt, a 304).
  virtual Result<std::optional<FetchedObject>> GetIfChanged(std::string_view key,
                                                            std::string_view etag) = 0;
  // Bytes [offset, offset + length) of an object, exactly; one range per
  // request (radosgw answers a multi-range GET with its first range only).
  virtual Result<std::string> GetRange(std::string_view key, uint64_t offset, uint64_t length) = 0;
  // The object's size, or nullopt when it does not exist (HEAD).
  virtual Result<std::optional<uint64_t>> Size(std::string_view key) = 0;
  virtual Status Put(std::string_view key, std::string_view bytes) = 0;
  // Every object whose key starts with `prefix`, sorted by key.
  virtual Result<std::vector<ListedObject>> List(std::string_view prefix) = 0;
  // Deleting a missing object is not an error.
  virtual Status Delete(std::string_view key) = 0;

  // Called once a version's objects are stored. Stores whose own garbage
  // collection keeps objects by reference (an OCI registry) record the
  // version as something that holds them; others need nothing more.
  virtual Status RecordVersion(const VersionReferences& /*version*/) { return Status::Ok(); }

  // "s3://bucket/prefix at http://127.0.0.1:17480": for messages and logs.
  virtual std::string Describe() const = 0;
  virtual const ObjectStoreCounters& counters() const = 0;
};

}  // namespace re2po
