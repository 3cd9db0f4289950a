// The little XML an S3 client reads: ListObjectsV2 pages and error bodies.
// Not a general XML parser: it finds the few elements it needs by name,
// checks every element it uses is closed, and decodes entities. Anything
// malformed is an error (kIOError: the server's answer cannot be used),
// never a crash or a partial listing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/base/status.h"

namespace re2po {

struct ListObjectsEntry {
  std::string key;  // the full key in the bucket, entities decoded
  uint64_t size = 0;
};

struct ListObjectsPage {
  std::vector<ListObjectsEntry> entries;
  bool is_truncated = false;
  std::string next_continuation_token;  // set when is_truncated
};

Result<ListObjectsPage> ParseListObjectsV2(std::string_view xml);

struct S3ErrorBody {
  std::string code;     // "NoSuchKey", "SlowDown"...; empty when absent
  std::string message;  // at most 200 bytes
};

// Best effort: empty fields for a body that is not an S3 <Error>.
S3ErrorBody ParseS3Error(std::string_view xml);

// &amp; &lt; &gt; &quot; &apos; and numeric references, UTF-8 encoded.
Result<std::string> XmlUnescape(std::string_view text);

}  // namespace re2po
