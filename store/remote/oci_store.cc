#include "store/remote/oci_store.h"

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>

#include "store/base/digest.h"
#include "store/base/log.h"
#include "store/remote/range_answer.h"

#ifndef RE2PO_REMOTE_VERSION
#define RE2PO_REMOTE_VERSION "dev"
#endif

namespace re2po {
namespace {

using Json = nlohmann::ordered_json;
using SteadyClock = std::chrono::steady_clock;

// The OCI "empty" descriptor's content: the config of a manifest that is
// only its layers.
constexpr std::string_view kEmptyConfig = "{}";
constexpr int kUploadAttempts = 3;
constexpr size_t kMaxTagLength = 128;

bool IsHexDigest(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// "sha256:<hex>" for keys named by their bytes ("packs/<hex>"), else "".
std::string BlobDigestOf(std::string_view key) {
  const size_t slash = key.find('/');
  if (slash == std::string_view::npos || slash == 0) return {};
  const std::string_view name = key.substr(slash + 1);
  if (!IsHexDigest(name)) return {};
  return "sha256:" + std::string(name);
}

std::string DigestOf(std::string_view bytes) { return "sha256:" + Sha256Of(bytes).Hex(); }

bool ValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > kMaxTagLength) return false;
  for (size_t i = 0; i < tag.size(); ++i) {
    const char c = tag[i];
    const bool word =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!word && (i == 0 || (c != '.' && c != '-'))) return false;
  }
  return true;
}

std::string WithQuery(const std::string& url, const std::string& query) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + query;
}

bool IsRedirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// The query parameter `name` of `url`, undecoded.
std::string QueryParam(std::string_view url, std::string_view name) {
  const size_t question = url.find('?');
  if (question == std::string_view::npos) return {};
  std::string_view query = url.substr(question + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=') {
      return std::string(pair.substr(name.size() + 1));
    }
    query.remove_prefix(amp == std::string_view::npos ? query.size() : amp + 1);
  }
  return {};
}

// How long a presigned URL stays valid (SigV4: X-Amz-Date + X-Amz-Expires),
// or nullopt when it does not say.
std::optional<std::chrono::seconds> PresignedLifetime(std::string_view url) {
  const std::string date = QueryParam(url, "X-Amz-Date");
  const std::string expires = QueryParam(url, "X-Amz-Expires");
  std::tm signed_at{};
  if (date.size() != 16 || expires.empty() || expires.size() > 9 ||
      strptime(date.c_str(), "%Y%m%dT%H%M%SZ", &signed_at) == nullptr) {
    return std::nullopt;
  }
  if (!std::all_of(expires.begin(), expires.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const int64_t valid_until = static_cast<int64_t>(timegm(&signed_at)) + std::stoll(expires);
  return std::chrono::seconds(valid_until - static_cast<int64_t>(std::time(nullptr)));
}

Json Descriptor(std::string_view media_type, const std::string& digest, uint64_t size) {
  return Json{{"mediaType", media_type}, {"digest", digest}, {"size", size}};
}

std::string ManifestOf(std::string_view artifact_type, const Json& config, Json layers,
                       Json annotations) {
  Json manifest{{"schemaVersion", 2},
                {"mediaType", kOciManifestType},
                {"artifactType", artifact_type},
                {"config", config},
                {"layers", std::move(layers)},
                {"annotations", std::move(annotations)}};
  return manifest.dump();
}

// The next page's URL from `Link: </v2/...?last=x&n=100>; rel="next"`.
std::string NextPage(std::string_view link) {
  const size_t open = link.find('<');
  const size_t close = link.find('>');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return {};
  return std::string(link.substr(open + 1, close - open - 1));
}

}  // namespace

OciStore::OciStore(OciLocation location, std::optional<RegistryCredentials> credentials,
                   OciOptions options)
    : options_(std::move(options)),
      transport_(std::move(location), std::move(credentials),
                 HttpClientOptions{.user_agent = options_.user_agent.empty()
                                                     ? "re2po/" RE2PO_REMOTE_VERSION
                                                     : options_.user_agent,
                                   .connect_timeout = options_.connect_timeout},
                 RetryPolicy{options_.call_deadline, std::max(options_.max_attempts, 1)},
                 counters_) {}

std::string OciStore::Describe() const {
  return transport_.location().ToString() + (transport_.has_credentials() ? "" : " (anonymous)");
}

std::string OciStore::RepositoryUrl() const {
  const OciLocation& location = transport_.location();
  return location.BaseUrl() + "/v2/" + location.repository;
}

std::string OciStore::BlobUrl(std::string_view digest) const {
  return RepositoryUrl() + "/blobs/" + std::string(digest);
}

std::string OciStore::ManifestUrl(std::string_view reference) const {
  return RepositoryUrl() + "/manifests/" + std::string(reference);
}

std::string OciStore::TagOf(std::string_view key) const {
  if (auto alias = options_.tag_aliases.find(std::string(key));
      alias != options_.tag_aliases.end()) {
    return alias->second;
  }
  std::string tag(key);
  std::replace(tag.begin(), tag.end(), '/', '-');
  return tag;
}

std::string OciStore::VersionTag(const VersionReferences& version) {
  const std::string readable = version.model + ".v" + std::to_string(version.version);
  if (ValidTag(readable)) return readable;
  const size_t slash = version.object_key.rfind('/');
  return "version-" + version.object_key.substr(slash + 1, 32);
}

// A location the registry gave ("/v2/..." or a full URL), as a URL.
std::string OciStore::Absolute(const std::string& location) const {
  return location.starts_with("/") ? transport_.location().BaseUrl() + location : location;
}

Status OciStore::Failure(Status status) { return counters_.CountFailure(std::move(status)); }

Result<HttpResponse> OciStore::Send(const OciCall& call, const std::string& what) {
  Result<HttpResponse> outcome = transport_.Send(call, what);
  if (!outcome.ok()) return Failure(outcome.status());
  return outcome;
}

// --- blobs ------------------------------------------------------------------

void OciStore::RememberRedirect(std::string_view digest, const std::string& url) {
  const std::optional<std::chrono::seconds> lifetime = PresignedLifetime(url);
  // A tenth of the lifetime is kept in hand for clocks and slow requests.
  if (!lifetime || *lifetime <= std::chrono::seconds(10)) return;
  std::lock_guard lock(mutex_);
  redirects_[std::string(digest)] = Redirect{url, SteadyClock::now() + *lifetime * 9 / 10};
}

// The answer from a location cached for `digest`, or nullopt when there is
// none (or it no longer works: expired, revoked).
Result<std::optional<HttpResponse>> OciStore::FetchRedirected(std::string_view digest,
                                                              const OciCall& call,
                                                              const std::string& what) {
  OciCall direct = call;
  {
    std::lock_guard lock(mutex_);
    auto it = redirects_.find(std::string(digest));
    if (it == redirects_.end()) return std::optional<HttpResponse>();
    if (SteadyClock::now() >= it->second.expires) {
      redirects_.erase(it);
      return std::optional<HttpResponse>();
    }
    direct.url = it->second.url;
  }
  direct.to_registry = false;
  ASSIGN_OR_RETURN(HttpResponse response, Send(direct, what));
  if (response.status == 200 || response.status == 206) {
    oci_counters_.redirects_reused.fetch_add(1, std::memory_order_relaxed);
    return std::optional<HttpResponse>(std::move(response));
  }
  std::lock_guard lock(mutex_);
  redirects_.erase(std::string(digest));
  return std::optional<HttpResponse>();
}

Result<std::string> OciStore::FetchBlob(std::string_view digest, std::optional<HttpByteRange> range,
                                        const std::string& what) {
  OciCall call;
  call.range = range;
  if (range) call.max_body_bytes = range->offset + range->length;
  ASSIGN_OR_RETURN(std::optional<HttpResponse> response, FetchRedirected(digest, call, what));
  if (!response) {
    call.url = BlobUrl(digest);
    ASSIGN_OR_RETURN(response, Send(call, what));
    if (IsRedirect(response->status) && !response->location.empty()) {
      oci_counters_.redirects.fetch_add(1, std::memory_order_relaxed);
      call.url = Absolute(response->location);
      call.to_registry = false;
      RememberRedirect(digest, call.url);
      ASSIGN_OR_RETURN(response, Send(call, what));
    }
  }
  if (response->status != 200 && response->status != 206) {
    return Failure(OciErrorStatus(*response, what));
  }
  if (!range) return std::move(response->body);
  Result<std::string> bytes =
      TakeRequestedRange(std::move(*response), range->offset, range->length);
  if (!bytes.ok()) return Failure(bytes.status().WithContext(what));
  return bytes;
}

Result<std::optional<uint64_t>> OciStore::BlobSize(std::string_view digest) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = blob_sizes_.find(std::string(digest)); it != blob_sizes_.end()) {
      return std::optional<uint64_t>(it->second);
    }
  }
  const std::string what = "checking blob " + std::string(digest) + " in " + Describe();
  OciCall call;
  call.method = "HEAD";
  call.url = BlobUrl(digest);
  ASSIGN_OR_RETURN(HttpResponse response, Send(call, what));
  if (IsRedirect(response.status) && !response.location.empty()) {
    call.url = Absolute(response.location);
    call.to_registry = false;
    ASSIGN_OR_RETURN(response, Send(call, what));
  }
  if (response.status == 404) return std::optional<uint64_t>();
  if (response.status != 200) return Failure(OciErrorStatus(response, what));
  if (!response.content_length) {
    return Failure(Status::IOError(what + ": HEAD answer without a Content-Length"));
  }
  std::lock_guard lock(mutex_);
  blob_sizes_[std::string(digest)] = *response.content_length;
  return std::optional<uint64_t>(*response.content_length);
}

Result<std::string> OciStore::StartUpload() {
  const std::string what = "starting an upload to " + Describe();
  OciCall call;
  call.method = "POST";
  call.url = RepositoryUrl() + "/blobs/uploads/";
  ASSIGN_OR_RETURN(HttpResponse response, Send(call, what));
  if (response.status != 202 || response.location.empty()) {
    return Failure(OciErrorStatus(response, what));
  }
  return response.location;
}

// nullopt when a repository of mount_from lent the blob; else where to
// upload it.
Result<std::optional<std::string>> OciStore::MountBlob(std::string_view digest) {
  for (const std::string& source : transport_.location().mount_from) {
    const std::string what = "mounting " + std::string(digest) + " from " + source;
    OciCall call;
    call.method = "POST";
    call.url = RepositoryUrl() + "/blobs/uploads/?mount=" + std::string(digest) + "&from=" + source;
    ASSIGN_OR_RETURN(HttpResponse response, Send(call, what));
    if (response.status == 201) {
      oci_counters_.blobs_mounted.fetch_add(1, std::memory_order_relaxed);
      return std::optional<std::string>();
    }
    // 202: the source lacks it; the registry opened an upload instead.
    if (response.status == 202 && !response.location.empty()) {
      if (&source == &transport_.location().mount_from.back()) {
        return std::optional<std::string>(response.location);
      }
      continue;
    }
    return Failure(OciErrorStatus(response, what));
  }
  ASSIGN_OR_RETURN(std::string location, StartUpload());
  return std::optional<std::string>(std::move(location));
}

// PATCHes `bytes` in chunks; the location to finish the upload at.
Result<std::string> OciStore::SendChunks(std::string location, std::string_view bytes) {
  oci_counters_.chunked_uploads.fetch_add(1, std::memory_order_relaxed);
  const uint64_t chunk = std::max<uint64_t>(options_.upload_chunk_bytes, 1);
  for (uint64_t offset = 0; offset < bytes.size(); offset += chunk) {
    const std::string_view piece = bytes.substr(offset, chunk);
    const std::string what = "uploading bytes " + std::to_string(offset) + "+" +
                             std::to_string(piece.size()) + " to " + Describe();
    OciCall call;
    call.method = "PATCH";
    call.url = location;
    call.body = piece;
    call.headers = {{"Content-Type", "application/octet-stream"},
                    {"Content-Range",
                     std::to_string(offset) + "-" + std::to_string(offset + piece.size() - 1)}};
    ASSIGN_OR_RETURN(HttpResponse response, Send(call, what));
    if (response.status != 202 || response.location.empty()) {
      return Failure(OciErrorStatus(response, what));
    }
    location = Absolute(response.location);
  }
  return location;
}

Status OciStore::UploadOnce(std::string_view digest, std::string_view bytes) {
  ASSIGN_OR_RETURN(std::optional<std::string> location, MountBlob(digest));
  if (!location) return Status::Ok();
  const bool chunked = bytes.size() > options_.upload_chunk_bytes;
  if (chunked) {
    ASSIGN_OR_RETURN(location, SendChunks(Absolute(*location), bytes));
  }
  const std::string what = "storing blob " + std::string(digest) + " in " + Describe();
  OciCall call;
  call.method = "PUT";
  call.url = WithQuery(Absolute(*location), "digest=" + std::string(digest));
  call.headers = {{"Content-Type", "application/octet-stream"}};
  if (!chunked) call.body = bytes;
  ASSIGN_OR_RETURN(HttpResponse response, Send(call, what));
  if (response.status != 201) return Failure(OciErrorStatus(response, what));
  return Status::Ok();
}

// An upload that failed on the way (a reset connection mid-PATCH leaves the
// registry's session at an offset we cannot know) starts again from a new
// session; refusals are final.
Status OciStore::UploadBlob(std::string_view digest, std::string_view bytes) {
  Status status = Status::Ok();
  for (int attempt = 1; attempt <= kUploadAttempts; ++attempt) {
    status = UploadOnce(digest, bytes);
    if (status.ok()) {
      std::lock_guard lock(mutex_);
      blob_sizes_[std::string(digest)] = bytes.size();
      return status;
    }
    if (status.code() == StatusCode::kPermissionDenied || status.code() == StatusCode::kBusy) break;
    Logger("remote")->debug("upload of {} failed ({}), starting again", digest, status.message());
  }
  return status;
}

// --- manifests and named objects --------------------------------------------

Status OciStore::PutManifest(const std::string& tag, const std::string& manifest) {
  const std::string what = "tagging " + tag + " in " + Describe();
  OciCall call;
  call.method = "PUT";
  call.url = ManifestUrl(tag);
  call.body = manifest;
  call.headers = {{"Content-Type", std::string(kOciManifestType)}};
  ASSIGN_OR_RETURN(HttpResponse response, Send(call, what));
  if (response.status != 201) return Failure(OciErrorStatus(response, what));
  return Status::Ok();
}

Status OciStore::EnsureEmptyConfig() {
  {
    std::lock_guard lock(mutex_);
    if (empty_config_stored_) return Status::Ok();
  }
  const std::string digest = DigestOf(kEmptyConfig);
  ASSIGN_OR_RETURN(std::optional<uint64_t> size, BlobSize(digest));
  if (!size) RETURN_IF_ERROR(UploadBlob(digest, kEmptyConfig));
  std::lock_guard lock(mutex_);
  empty_config_stored_ = true;
  return Status::Ok();
}

Status OciStore::PutNamed(std::string_view key, std::string_view bytes) {
  const std::string digest = DigestOf(bytes);
  ASSIGN_OR_RETURN(std::optional<uint64_t> size, BlobSize(digest));
  if (!size) RETURN_IF_ERROR(UploadBlob(digest, bytes));
  RETURN_IF_ERROR(EnsureEmptyConfig());
  const std::string manifest =
      ManifestOf(kRe2poObjectType, Descriptor(kOciEmptyType, DigestOf(kEmptyConfig), 2),
                 Json::array({Descriptor(kRe2poObjectType, digest, bytes.size())}),
                 Json{{"io.re2po.key", key}});
  return PutManifest(TagOf(key), manifest);
}

Result<std::optional<FetchedObject>> OciStore::FetchNamed(std::string_view key,
                                                          std::string_view etag) {
  const std::string tag = TagOf(key);
  const std::string what = "fetching " + tag + " from " + Describe();
  OciCall call;
  call.url = ManifestUrl(tag);
  call.headers = {{"Accept", std::string(kOciManifestType)}};
  if (!etag.empty()) call.headers.emplace_back("If-None-Match", std::string(etag));
  call.max_body_bytes = 1 << 20;
  ASSIGN_OR_RETURN(HttpResponse response, Send(call, what));
  if (response.status == 304 && !etag.empty()) return std::optional<FetchedObject>();
  if (response.status != 200) return Failure(OciErrorStatus(response, what));
  const Json manifest = Json::parse(response.body, nullptr, false);
  if (manifest.is_discarded() || !manifest.contains("layers") || !manifest["layers"].is_array() ||
      manifest["layers"].size() != 1 || !manifest["layers"][0].is_object()) {
    return Failure(Status::Corruption(what + ": not a manifest of one layer"));
  }
  const std::string digest = manifest["layers"][0].value("digest", "");
  if (!digest.starts_with("sha256:") || !IsHexDigest(digest.substr(7))) {
    return Failure(Status::Corruption(what + ": its layer has no sha256 digest"));
  }
  ASSIGN_OR_RETURN(std::string bytes, FetchBlob(digest, std::nullopt, what));
  if (DigestOf(bytes) != digest) {
    return Failure(Status::Corruption(what + ": the layer's bytes do not hash to " + digest));
  }
  std::string new_etag =
      response.etag.empty() ? "\"" + DigestOf(response.body) + "\"" : response.etag;
  return std::optional<FetchedObject>(FetchedObject{std::move(bytes), std::move(new_etag)});
}

// --- ObjectStore --------------------------------------------------------------

Result<std::string> OciStore::Get(std::string_view key) {
  if (key.empty()) return Status::InvalidArgument("empty object key");
  if (const std::string digest = BlobDigestOf(key); !digest.empty()) {
    return FetchBlob(digest, std::nullopt, "fetching " + std::string(key) + " from " + Describe());
  }
  ASSIGN_OR_RETURN(std::optional<FetchedObject> fetched, FetchNamed(key, {}));
  return std::move(fetched->bytes);
}

Result<std::optional<FetchedObject>> OciStore::GetIfChanged(std::string_view key,
                                                            std::string_view etag) {
  if (const std::string digest = BlobDigestOf(key); !digest.empty()) {
    // A blob never changes: its digest is its ETag.
    const std::string blob_etag = "\"" + digest + "\"";
    if (etag == blob_etag) return std::optional<FetchedObject>();
    ASSIGN_OR_RETURN(std::string bytes, Get(key));
    return std::optional<FetchedObject>(FetchedObject{std::move(bytes), blob_etag});
  }
  return FetchNamed(key, etag);
}

Result<std::string> OciStore::GetRange(std::string_view key, uint64_t offset, uint64_t length) {
  if (length == 0) return std::string();
  if (offset > UINT64_MAX - length) return Status::InvalidArgument("range overflows");
  const std::string digest = BlobDigestOf(key);
  if (digest.empty()) {
    ASSIGN_OR_RETURN(std::string bytes, Get(key));
    if (offset + length > bytes.size()) {
      return Status::InvalidArgument(std::string(key) + " ends before the range does");
    }
    return bytes.substr(offset, length);
  }
  const std::string what = "fetching " + std::string(key) + " bytes [" + std::to_string(offset) +
                           ", " + std::to_string(offset + length) + ") from " + Describe();
  return FetchBlob(digest, HttpByteRange{offset, length}, what);
}

Result<std::optional<uint64_t>> OciStore::Size(std::string_view key) {
  if (key.empty()) return Status::InvalidArgument("empty object key");
  if (const std::string digest = BlobDigestOf(key); !digest.empty()) return BlobSize(digest);
  Result<std::optional<FetchedObject>> fetched = FetchNamed(key, {});
  if (!fetched.ok() && fetched.status().IsNotFound()) return std::optional<uint64_t>();
  if (!fetched.ok()) return fetched.status();
  return std::optional<uint64_t>((*fetched)->bytes.size());
}

Status OciStore::Put(std::string_view key, std::string_view bytes) {
  if (key.empty()) return Status::InvalidArgument("empty object key");
  const std::string digest = BlobDigestOf(key);
  if (digest.empty()) return PutNamed(key, bytes);
  if (DigestOf(bytes) != digest) {
    return Status::InvalidArgument(std::string(key) +
                                   ": a blob's name must be the SHA-256 of its bytes");
  }
  return UploadBlob(digest, bytes);
}

Status OciStore::RecordVersion(const VersionReferences& version) {
  const std::string object_digest = BlobDigestOf(version.object_key);
  if (object_digest.empty()) {
    return Status::InvalidArgument(version.object_key + " is not named by its digest");
  }
  ASSIGN_OR_RETURN(std::optional<uint64_t> object_size, BlobSize(object_digest));
  if (!object_size) return Status::NotFound(version.object_key + " is not in " + Describe());
  Json layers = Json::array();
  for (const std::string& pack : version.pack_keys) {
    const std::string digest = BlobDigestOf(pack);
    if (digest.empty()) return Status::InvalidArgument(pack + " is not named by its digest");
    ASSIGN_OR_RETURN(std::optional<uint64_t> size, BlobSize(digest));
    if (!size) return Status::NotFound(pack + " is not in " + Describe());
    layers.push_back(Descriptor(kRe2poPackType, digest, *size));
  }
  const std::string name = version.model + "@" + std::to_string(version.version);
  const std::string manifest =
      ManifestOf(kRe2poVersionType, Descriptor(kRe2poVersionType, object_digest, *object_size),
                 std::move(layers),
                 Json{{"org.opencontainers.image.title", name},
                      {"io.re2po.model", version.model},
                      {"io.re2po.version", std::to_string(version.version)}});
  return PutManifest(VersionTag(version), manifest);
}

Result<std::string> OciStore::ListPage(const std::string& url, std::vector<std::string>& tags) {
  const std::string what = "listing the tags of " + Describe();
  OciCall call;
  call.url = url;
  ASSIGN_OR_RETURN(HttpResponse response, Send(call, what));
  if (response.status == 404) return std::string();  // nothing pushed yet: no repository
  if (response.status != 200) return Failure(OciErrorStatus(response, what));
  const Json body = Json::parse(response.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return Failure(Status::IOError(what + ": the answer is not JSON"));
  }
  if (body.contains("tags") && body["tags"].is_array()) {
    for (const Json& tag : body["tags"]) {
      if (tag.is_string()) tags.push_back(tag.get<std::string>());
    }
  }
  const std::string next = NextPage(response.link);
  if (next.empty()) return next;
  return Absolute(next);
}

Result<std::vector<ListedObject>> OciStore::List(std::string_view prefix) {
  if (!prefix.ends_with('/') || prefix.find('/') != prefix.size() - 1) {
    return Status::InvalidArgument(
        "an OCI registry lists named objects of one folder (\"log/\"), "
        "not '" +
        std::string(prefix) + "'");
  }
  const std::string tag_prefix = TagOf(prefix);
  std::vector<std::string> tags;
  std::string url = RepositoryUrl() + "/tags/list";
  if (options_.list_page_size > 0) url += "?n=" + std::to_string(options_.list_page_size);
  for (size_t pages = 0; !url.empty(); ++pages) {
    if (pages > 100'000)
      return Failure(Status::IOError("the tag listing of " + Describe() + " does not end"));
    ASSIGN_OR_RETURN(url, ListPage(url, tags));
  }
  std::vector<ListedObject> objects;
  for (const std::string& tag : tags) {
    if (tag.starts_with(tag_prefix) && tag.size() > tag_prefix.size()) {
      objects.push_back(ListedObject{std::string(prefix) + tag.substr(tag_prefix.size()), 0});
    }
  }
  std::sort(objects.begin(), objects.end(),
            [](const ListedObject& a, const ListedObject& b) { return a.key < b.key; });
  return objects;
}

Status OciStore::Delete(std::string_view key) {
  if (key.empty()) return Status::InvalidArgument("empty object key");
  std::string target = BlobDigestOf(key);
  const bool blob = !target.empty();
  const std::string what = "deleting " + std::string(key) + " from " + Describe();
  if (!blob) {
    OciCall head;
    head.method = "HEAD";
    head.url = ManifestUrl(TagOf(key));
    head.headers = {{"Accept", std::string(kOciManifestType)}};
    ASSIGN_OR_RETURN(HttpResponse found, Send(head, what));
    if (found.status == 404) return Status::Ok();
    if (found.status != 200 || found.docker_content_digest.empty()) {
      return Failure(OciErrorStatus(found, what));
    }
    target = found.docker_content_digest;
  }
  OciCall call;
  call.method = "DELETE";
  call.url = blob ? BlobUrl(target) : ManifestUrl(target);
  ASSIGN_OR_RETURN(HttpResponse response, Send(call, what));
  if (response.status == 202 || response.status == 200 || response.status == 404) {
    std::lock_guard lock(mutex_);
    blob_sizes_.erase(target);
    return Status::Ok();
  }
  return Failure(OciErrorStatus(response, what));
}

Result<std::unique_ptr<OciStore>> OpenOciStore(const OciLocation& location, OciOptions options) {
  ASSIGN_OR_RETURN(std::optional<RegistryCredentials> credentials,
                   FindRegistryCredentials(location.host, RegistryAuthFiles()));
  const std::string source = credentials ? credentials->source : "nowhere (anonymous)";
  auto store = std::make_unique<OciStore>(location, std::move(credentials), std::move(options));
  Logger("remote")->debug("{}: credentials from {}", store->Describe(), source);
  return store;
}

}  // namespace re2po
