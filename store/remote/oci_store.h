// An ObjectStore in one repository of an OCI registry (CNCF Distribution,
// Harbor, a cloud registry), speaking the distribution protocol as
// registries implement it.
//
// Keys of the form "SEGMENT/<64 hex digits>" (packs, version objects) are
// named by the SHA-256 of their bytes: they are blobs, addressed by that
// digest. Every other key is small and named: its bytes are a blob that the
// only layer of a manifest refers to, under a tag made of the key ('/'
// becomes '-', or an alias the options give: the catalog head is tagged
// "catalog"). A pushed version becomes a manifest of its own
// (RecordVersion) whose config is the version object and whose layers are
// its packs, so the registry's garbage collection keeps what it needs and
// `skopeo copy` of its tag copies all of it. docs/format.md lists the
// media types.
//
// Blob GETs that answer with a redirect (a registry on object storage) are
// followed without the registry's credentials, and the location is reused
// for its lifetime (X-Amz-Expires) by the next reads of that blob.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "store/base/status.h"
#include "store/remote/object_store.h"
#include "store/remote/oci_location.h"
#include "store/remote/oci_transport.h"

namespace re2po {

inline constexpr std::string_view kOciManifestType = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciEmptyType = "application/vnd.oci.empty.v1+json";
inline constexpr std::string_view kRe2poVersionType = "application/vnd.re2po.version.v1";
inline constexpr std::string_view kRe2poPackType = "application/vnd.re2po.pack.v1";
inline constexpr std::string_view kRe2poObjectType = "application/vnd.re2po.object.v1";

struct OciOptions {
  std::chrono::milliseconds call_deadline{30'000};  // per call, retries included
  int max_attempts = 6;
  std::chrono::milliseconds connect_timeout{5'000};
  std::string user_agent;  // empty: "re2po/VERSION"
  // Blobs larger than this are uploaded in chunks (PATCH) of this size.
  uint64_t upload_chunk_bytes = uint64_t{32} << 20;
  // Tags per page of a tag listing (n=); 0 leaves it to the registry.
  int list_page_size = 0;
  std::map<std::string, std::string> tag_aliases;  // key -> tag
};

// What the store did beyond the common counters, for tests and figures.
struct OciCounters {
  std::atomic<uint64_t> blobs_mounted{0};     // cross-repository mounts that worked
  std::atomic<uint64_t> chunked_uploads{0};   // uploads sent in several PATCHes
  std::atomic<uint64_t> redirects{0};         // blob GETs the registry redirected
  std::atomic<uint64_t> redirects_reused{0};  // GETs sent straight to a cached location
};

class OciStore final : public ObjectStore {
 public:
  OciStore(OciLocation location, std::optional<RegistryCredentials> credentials,
           OciOptions options);

  Result<std::string> Get(std::string_view key) override;
  Result<std::optional<FetchedObject>> GetIfChanged(std::string_view key,
                                                    std::string_view etag) override;
  Result<std::string> GetRange(std::string_view key, uint64_t offset, uint64_t length) override;
  Result<std::optional<uint64_t>> Size(std::string_view key) override;
  Status Put(std::string_view key, std::string_view bytes) override;
  // Named keys only (tags); a registry cannot list its blobs. Sizes are 0.
  Result<std::vector<ListedObject>> List(std::string_view prefix) override;
  Status Delete(std::string_view key) override;
  Status RecordVersion(const VersionReferences& version) override;
  std::string Describe() const override;
  const ObjectStoreCounters& counters() const override { return counters_; }
  const OciCounters& oci_counters() const { return oci_counters_; }

  // The tag a version's manifest gets: "MODEL.vVERSION" when that is a
  // valid tag, else one made from the object's digest.
  static std::string VersionTag(const VersionReferences& version);

 private:
  struct Redirect {
    std::string url;
    std::chrono::steady_clock::time_point expires;
  };

  std::string RepositoryUrl() const;
  std::string BlobUrl(std::string_view digest) const;
  std::string ManifestUrl(std::string_view reference) const;
  std::string TagOf(std::string_view key) const;
  std::string Absolute(const std::string& location) const;
  Status Failure(Status status);
  Result<HttpResponse> Send(const OciCall& call, const std::string& what);

  Result<std::string> FetchBlob(std::string_view digest, std::optional<HttpByteRange> range,
                                const std::string& what);
  Result<std::optional<HttpResponse>> FetchRedirected(std::string_view digest, const OciCall& call,
                                                      const std::string& what);
  void RememberRedirect(std::string_view digest, const std::string& url);
  Result<std::optional<uint64_t>> BlobSize(std::string_view digest);
  Status UploadBlob(std::string_view digest, std::string_view bytes);
  Status UploadOnce(std::string_view digest, std::string_view bytes);
  Result<std::optional<std::string>> MountBlob(std::string_view digest);
  Result<std::string> StartUpload();
  Result<std::string> SendChunks(std::string location, std::string_view bytes);
  Status PutManifest(const std::string& tag, const std::string& manifest);
  Result<std::optional<FetchedObject>> FetchNamed(std::string_view key, std::string_view etag);
  Status PutNamed(std::string_view key, std::string_view bytes);
  Status EnsureEmptyConfig();
  Result<std::string> ListPage(const std::string& last, std::vector<std::string>& tags);

  const OciOptions options_;
  ObjectStoreCounters counters_;
  OciCounters oci_counters_;
  OciTransport transport_;
  std::mutex mutex_;
  std::unordered_map<std::string, uint64_t> blob_sizes_;  // digest -> size, seen or stored
  std::unordered_map<std::string, Redirect> redirects_;   // digest -> where a GET went
  bool empty_config_stored_ = false;
};

// Credentials from the registry auth files (registry_auth.h).
Result<std::unique_ptr<OciStore>> OpenOciStore(const OciLocation& location, OciOptions options);

}  // namespace re2po
