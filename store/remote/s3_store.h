// An ObjectStore in an S3 bucket (AWS, Ceph RGW, MinIO): object KEY lives at
// "PREFIX/KEY" in the bucket. Requests are signed with SigV4 unless the
// settings hold no credentials (public buckets), and retried as
// object_store.h says.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "store/base/status.h"
#include "store/remote/aws_credentials.h"
#include "store/remote/object_store.h"
#include "store/remote/s3_transport.h"

namespace re2po {

struct S3Options {
  std::string bucket;
  std::string prefix;                               // without leading or trailing '/'; may be empty
  std::string endpoint;                             // empty: AwsSettings::endpoint
  bool path_style = true;                           // "host/bucket/key"; false: "bucket.host/key"
  std::chrono::milliseconds call_deadline{30'000};  // per call, retries included
  int max_attempts = 6;
  std::chrono::milliseconds first_backoff{50};
  std::chrono::milliseconds max_backoff{2'000};
  std::chrono::milliseconds connect_timeout{5'000};
  std::string user_agent;  // empty: "re2po/VERSION"
  // Keys per ListObjectsV2 page (max-keys); 0 leaves it to the server
  // (1000). Small values let tests exercise pagination.
  int list_page_size = 0;
};

class S3Store final : public ObjectStore {
 public:
  S3Store(S3Options options, S3Connection connection, HttpClientOptions http);

  Result<std::string> Get(std::string_view key) override;
  Result<std::optional<FetchedObject>> GetIfChanged(std::string_view key,
                                                    std::string_view etag) override;
  Result<std::string> GetRange(std::string_view key, uint64_t offset, uint64_t length) override;
  Result<std::optional<uint64_t>> Size(std::string_view key) override;
  Status Put(std::string_view key, std::string_view bytes) override;
  Result<std::vector<ListedObject>> List(std::string_view prefix) override;
  Status Delete(std::string_view key) override;
  std::string Describe() const override;
  const ObjectStoreCounters& counters() const override { return counters_; }

  // Creates the bucket unless it exists (and is ours): for tests and push.
  Status EnsureBucket();

 private:
  std::string FullKey(std::string_view key) const;
  std::string ObjectName(std::string_view full_key) const;  // "s3://bucket/full_key"
  // The transport's answer; a failed call is counted in counters_.errors.
  Result<HttpResponse> Send(const S3Request& request, const std::string& what);
  // Counts `status` as a failed call unless it only says "not found".
  Status Failure(Status status);
  Result<std::optional<FetchedObject>> FetchObject(std::string_view key, std::string_view etag);
  Result<std::string> ListPage(const std::string& full_prefix, const std::string& token,
                               std::vector<ListedObject>& out);
  Status CreateBucket();

  const S3Options options_;
  ObjectStoreCounters counters_;
  S3Transport transport_;
};

// Errors: no bucket, a malformed endpoint.
Result<std::unique_ptr<S3Store>> OpenS3Store(S3Options options, const AwsSettings& settings);

}  // namespace re2po
