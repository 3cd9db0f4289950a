#include "store/remote/s3_store.h"

#include <algorithm>

#include "store/base/log.h"
#include "store/remote/range_answer.h"
#include "store/remote/s3_xml.h"

#ifndef RE2PO_REMOTE_VERSION
#define RE2PO_REMOTE_VERSION "dev"
#endif

namespace re2po {
namespace {

constexpr std::string_view kUsEast1 = "us-east-1";

std::string_view TrimSlashes(std::string_view text) {
  while (text.starts_with("/")) text.remove_prefix(1);
  while (text.ends_with("/")) text.remove_suffix(1);
  return text;
}

Status CheckKey(std::string_view key) {
  if (key.empty()) return Status::InvalidArgument("empty object key");
  return Status::Ok();
}

// The body of a PUT bucket outside us-east-1, where S3 wants the region named.
std::string CreateBucketBody(std::string_view region) {
  if (region.empty() || region == kUsEast1) return {};
  return "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
         "<LocationConstraint>" +
         std::string(region) + "</LocationConstraint></CreateBucketConfiguration>";
}

}  // namespace

S3Store::S3Store(S3Options options, S3Connection connection, HttpClientOptions http)
    : options_(std::move(options)),
      transport_(std::move(connection), std::move(http),
                 RetryPolicy{options_.call_deadline, std::max(options_.max_attempts, 1),
                             options_.first_backoff, options_.max_backoff},
                 counters_) {}

std::string S3Store::FullKey(std::string_view key) const {
  if (options_.prefix.empty()) return std::string(key);
  return options_.prefix + "/" + std::string(key);
}

std::string S3Store::ObjectName(std::string_view full_key) const {
  return "s3://" + options_.bucket + "/" + std::string(full_key);
}

std::string S3Store::Describe() const {
  const S3Connection& connection = transport_.connection();
  std::string text = "s3://" + options_.bucket;
  if (!options_.prefix.empty()) text += "/" + options_.prefix;
  text += " at " + connection.endpoint.ToString();
  if (connection.credentials.anonymous()) text += " (anonymous)";
  return text;
}

Status S3Store::Failure(Status status) { return counters_.CountFailure(std::move(status)); }

Result<HttpResponse> S3Store::Send(const S3Request& request, const std::string& what) {
  Result<HttpResponse> outcome = transport_.Send(request, what);
  if (!outcome.ok()) return Failure(outcome.status());
  return outcome;
}

Result<std::optional<FetchedObject>> S3Store::FetchObject(std::string_view key,
                                                          std::string_view etag) {
  RETURN_IF_ERROR(CheckKey(key));
  S3Request request;
  request.key = FullKey(key);
  if (!etag.empty()) request.headers.emplace_back("If-None-Match", std::string(etag));
  const std::string what = "fetching " + ObjectName(request.key);
  ASSIGN_OR_RETURN(HttpResponse response, Send(request, what));
  if (response.status == 304 && !etag.empty()) return std::optional<FetchedObject>();
  if (response.status != 200) return Failure(S3ErrorStatus(response, what));
  return std::optional<FetchedObject>(
      FetchedObject{std::move(response.body), std::move(response.etag)});
}

Result<std::string> S3Store::Get(std::string_view key) {
  ASSIGN_OR_RETURN(std::optional<FetchedObject> fetched, FetchObject(key, {}));
  return std::move(fetched->bytes);
}

Result<std::optional<FetchedObject>> S3Store::GetIfChanged(std::string_view key,
                                                           std::string_view etag) {
  return FetchObject(key, etag);
}

Result<std::string> S3Store::GetRange(std::string_view key, uint64_t offset, uint64_t length) {
  RETURN_IF_ERROR(CheckKey(key));
  if (length == 0) return std::string();
  if (offset > UINT64_MAX - length) return Status::InvalidArgument("range overflows");
  S3Request request;
  request.key = FullKey(key);
  request.range = HttpByteRange{offset, length};
  // A server that ignores Range answers with the whole object: read no
  // further than the range's end.
  request.max_body_bytes = offset + length;
  const std::string what = "fetching " + ObjectName(request.key) + " bytes [" +
                           std::to_string(offset) + ", " + std::to_string(offset + length) + ")";
  ASSIGN_OR_RETURN(HttpResponse response, Send(request, what));
  if (response.status != 200 && response.status != 206) {
    return Failure(S3ErrorStatus(response, what));
  }
  Result<std::string> bytes = TakeRequestedRange(std::move(response), offset, length);
  if (!bytes.ok()) return Failure(bytes.status().WithContext(what));
  return bytes;
}

Result<std::optional<uint64_t>> S3Store::Size(std::string_view key) {
  RETURN_IF_ERROR(CheckKey(key));
  S3Request request;
  request.method = "HEAD";
  request.key = FullKey(key);
  const std::string what = "checking " + ObjectName(request.key);
  ASSIGN_OR_RETURN(HttpResponse response, Send(request, what));
  if (response.status == 404) return std::optional<uint64_t>();
  if (response.status != 200) return Failure(S3ErrorStatus(response, what));
  if (!response.content_length) {
    return Failure(Status::IOError(what + ": HEAD answer without a Content-Length"));
  }
  return std::optional<uint64_t>(*response.content_length);
}

Status S3Store::Put(std::string_view key, std::string_view bytes) {
  RETURN_IF_ERROR(CheckKey(key));
  S3Request request;
  request.method = "PUT";
  request.key = FullKey(key);
  request.body = bytes;
  const std::string what = "storing " + ObjectName(request.key);
  ASSIGN_OR_RETURN(HttpResponse response, Send(request, what));
  if (response.status != 200) return Failure(S3ErrorStatus(response, what));
  return Status::Ok();
}

Status S3Store::Delete(std::string_view key) {
  RETURN_IF_ERROR(CheckKey(key));
  S3Request request;
  request.method = "DELETE";
  request.key = FullKey(key);
  const std::string what = "deleting " + ObjectName(request.key);
  ASSIGN_OR_RETURN(HttpResponse response, Send(request, what));
  if (response.status == 200 || response.status == 204) return Status::Ok();
  // A missing key is what a delete wants; a missing bucket is a mistake.
  if (response.status == 404 && ParseS3Error(response.body).code != "NoSuchBucket") {
    return Status::Ok();
  }
  return Failure(S3ErrorStatus(response, what));
}

Result<std::string> S3Store::ListPage(const std::string& full_prefix, const std::string& token,
                                      std::vector<ListedObject>& out) {
  S3Request request;
  request.query = {{"list-type", "2"}, {"prefix", full_prefix}};
  if (options_.list_page_size > 0) {
    request.query.emplace_back("max-keys", std::to_string(options_.list_page_size));
  }
  if (!token.empty()) request.query.emplace_back("continuation-token", token);
  const std::string what = "listing s3://" + options_.bucket + "/" + full_prefix + "*";
  ASSIGN_OR_RETURN(HttpResponse response, Send(request, what));
  if (response.status != 200) return Failure(S3ErrorStatus(response, what));
  Result<ListObjectsPage> page = ParseListObjectsV2(response.body);
  if (!page.ok()) return Failure(page.status().WithContext(what));
  const size_t strip = options_.prefix.empty() ? 0 : options_.prefix.size() + 1;
  for (ListObjectsEntry& entry : page->entries) {
    if (!entry.key.starts_with(full_prefix)) {
      return Failure(Status::IOError(what + ": the answer lists '" + entry.key.substr(0, 200) +
                                     "', outside the prefix"));
    }
    out.push_back(ListedObject{entry.key.substr(strip), entry.size});
  }
  if (page->is_truncated && page->next_continuation_token == token) {
    return Failure(Status::IOError(what + ": the server repeats its continuation token"));
  }
  return page->is_truncated ? std::move(page->next_continuation_token) : std::string();
}

Result<std::vector<ListedObject>> S3Store::List(std::string_view prefix) {
  const std::string full_prefix = FullKey(prefix);
  std::vector<ListedObject> objects;
  std::string token;
  do {
    ASSIGN_OR_RETURN(token, ListPage(full_prefix, token, objects));
  } while (!token.empty());
  std::sort(objects.begin(), objects.end(),
            [](const ListedObject& a, const ListedObject& b) { return a.key < b.key; });
  return objects;
}

Status S3Store::CreateBucket() {
  const std::string body = CreateBucketBody(transport_.connection().region);
  S3Request request;
  request.method = "PUT";
  request.body = body;
  const std::string what = "creating bucket s3://" + options_.bucket;
  ASSIGN_OR_RETURN(HttpResponse response, Send(request, what));
  if (response.status == 200) return Status::Ok();
  // Another caller created it first: fine as long as it is ours.
  if (response.status == 409 && ParseS3Error(response.body).code == "BucketAlreadyOwnedByYou") {
    return Status::Ok();
  }
  return Failure(S3ErrorStatus(response, what));
}

Status S3Store::EnsureBucket() {
  S3Request request;
  request.method = "HEAD";
  const std::string what = "checking bucket s3://" + options_.bucket;
  ASSIGN_OR_RETURN(HttpResponse response, Send(request, what));
  if (response.status == 200) return Status::Ok();
  if (response.status != 404) return Failure(S3ErrorStatus(response, what));
  RETURN_IF_ERROR(CreateBucket());
  Logger("remote")->info("created bucket s3://{}", options_.bucket);
  return Status::Ok();
}

Result<std::unique_ptr<S3Store>> OpenS3Store(S3Options options, const AwsSettings& settings) {
  if (options.bucket.empty() || options.bucket.find('/') != std::string::npos) {
    return Status::InvalidArgument("S3 bucket name '" + options.bucket + "' is empty or has a '/'");
  }
  options.prefix = std::string(TrimSlashes(options.prefix));
  const std::string& endpoint_url = options.endpoint.empty() ? settings.endpoint : options.endpoint;
  ASSIGN_OR_RETURN(S3Endpoint endpoint, ParseS3Endpoint(endpoint_url));
  S3Connection connection{std::move(endpoint), options.bucket, options.path_style,
                          settings.credentials, settings.region};
  HttpClientOptions http;
  http.user_agent = options.user_agent.empty() ? "re2po/" RE2PO_REMOTE_VERSION : options.user_agent;
  http.connect_timeout = options.connect_timeout;
  auto store =
      std::make_unique<S3Store>(std::move(options), std::move(connection), std::move(http));
  Logger("remote")->debug(
      "{}: credentials from {}", store->Describe(),
      settings.credential_source.empty() ? "the caller" : settings.credential_source);
  return store;
}

}  // namespace re2po
