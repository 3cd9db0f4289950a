#include "store/remote/range_answer.h"

#include <optional>
#include <string_view>

namespace re2po {
namespace {

struct ContentRange {
  uint64_t first = 0;
  uint64_t last = 0;
  std::optional<uint64_t> total;  // "*" when the server does not say
};

std::optional<uint64_t> ParseNumber(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

// "bytes FIRST-LAST/TOTAL" or "bytes FIRST-LAST/*".
std::optional<ContentRange> ParseContentRange(std::string_view text) {
  constexpr std::string_view kUnit = "bytes ";
  if (!text.starts_with(kUnit)) return std::nullopt;
  text.remove_prefix(kUnit.size());
  const size_t dash = text.find('-');
  const size_t slash = text.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash) {
    return std::nullopt;
  }
  const auto first = ParseNumber(text.substr(0, dash));
  const auto last = ParseNumber(text.substr(dash + 1, slash - dash - 1));
  const std::string_view total_text = text.substr(slash + 1);
  const auto total = total_text == "*" ? std::nullopt : ParseNumber(total_text);
  if (!first || !last || *last < *first || (total_text != "*" && !total)) return std::nullopt;
  return ContentRange{*first, *last, total};
}

std::string Describe(uint64_t offset, uint64_t length) {
  return "[" + std::to_string(offset) + ", " + std::to_string(offset + length) + ")";
}

Status PastTheEnd(uint64_t offset, uint64_t length, uint64_t object_size) {
  return Status::InvalidArgument("range " + Describe(offset, length) +
                                 " extends past the end of the " + std::to_string(object_size) +
                                 "-byte object");
}

Result<std::string> FromPartialContent(HttpResponse response, uint64_t offset, uint64_t length) {
  const std::optional<ContentRange> range = ParseContentRange(response.content_range);
  if (!range) {
    return Status::IOError("206 answer with an unusable Content-Range '" +
                           response.content_range.substr(0, 80) + "'");
  }
  const uint64_t last = offset + length - 1;
  if (range->first == offset && range->last < last && range->total && *range->total <= last) {
    return PastTheEnd(offset, length, *range->total);
  }
  if (range->first != offset || range->last != last) {
    return Status::IOError("asked for bytes " + Describe(offset, length) + ", got Content-Range '" +
                           response.content_range.substr(0, 80) + "'");
  }
  if (response.body.size() != length) {
    return Status::IOError("asked for " + std::to_string(length) + " bytes, got " +
                           std::to_string(response.body.size()));
  }
  return std::move(response.body);
}

Result<std::string> FromWholeObject(HttpResponse response, uint64_t offset, uint64_t length) {
  const uint64_t end = offset + length;
  if (response.content_length && *response.content_length < end) {
    return PastTheEnd(offset, length, *response.content_length);
  }
  if (response.body.size() < end) {
    if (response.body_truncated) {
      return Status::IOError("the whole-object answer stopped short of the range");
    }
    return PastTheEnd(offset, length, response.body.size());
  }
  return response.body.substr(offset, length);
}

}  // namespace

Result<std::string> TakeRequestedRange(HttpResponse response, uint64_t offset, uint64_t length) {
  if (response.status == 206) return FromPartialContent(std::move(response), offset, length);
  if (response.status == 200) return FromWholeObject(std::move(response), offset, length);
  return Status::IOError("unexpected HTTP status " + std::to_string(response.status) +
                         " for a range request");
}

}  // namespace re2po
