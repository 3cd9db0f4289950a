#include "store/remote/s3_xml.h"

#include <optional>

namespace re2po {
namespace {

constexpr size_t kMaxErrorMessage = 200;

Status Malformed(std::string_view what) {
  return Status::IOError("malformed ListObjectsV2 answer: " + std::string(what));
}

// The text of the first <tag>...</tag> in xml[from, to). nullopt when the
// element is absent; kIOError when it opens but never closes.
struct Element {
  std::string_view text;
  size_t end = 0;  // just past the closing tag
};

Result<std::optional<Element>> FindElement(std::string_view xml, std::string_view tag,
                                           size_t from = 0) {
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  const size_t start = xml.find(open, from);
  if (start == std::string_view::npos) return std::optional<Element>();
  const size_t text_start = start + open.size();
  const size_t stop = xml.find(close, text_start);
  if (stop == std::string_view::npos) return Malformed("<" + std::string(tag) + "> never closes");
  return std::optional<Element>(
      Element{xml.substr(text_start, stop - text_start), stop + close.size()});
}

Result<uint64_t> ParseSize(std::string_view text) {
  if (text.empty() || text.size() > 20) return Malformed("object size '" + std::string(text) + "'");
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return Malformed("object size '" + std::string(text) + "'");
    const auto digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return Malformed("object size out of range");
    value = value * 10 + digit;
  }
  return value;
}

Result<ListObjectsEntry> ParseContents(std::string_view block) {
  ASSIGN_OR_RETURN(std::optional<Element> key, FindElement(block, "Key"));
  ASSIGN_OR_RETURN(std::optional<Element> size, FindElement(block, "Size"));
  if (!key || !size) return Malformed("<Contents> without <Key> or <Size>");
  ListObjectsEntry entry;
  ASSIGN_OR_RETURN(entry.key, XmlUnescape(key->text));
  if (entry.key.empty()) return Malformed("empty <Key>");
  ASSIGN_OR_RETURN(entry.size, ParseSize(size->text));
  return entry;
}

void AppendUtf8(uint32_t code_point, std::string& out) {
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

std::optional<uint32_t> ParseCodePoint(std::string_view digits) {
  int base = 10;
  if (!digits.empty() && (digits[0] == 'x' || digits[0] == 'X')) {
    base = 16;
    digits.remove_prefix(1);
  }
  if (digits.empty() || digits.size() > 8) return std::nullopt;
  uint32_t value = 0;
  for (char c : digits) {
    int digit = -1;
    if (c >= '0' && c <= '9') digit = c - '0';
    if (base == 16 && c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    if (base == 16 && c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    if (digit < 0 || digit >= base) return std::nullopt;
    value = value * static_cast<uint32_t>(base) + static_cast<uint32_t>(digit);
    if (value > 0x10FFFF) return std::nullopt;
  }
  const bool surrogate = value >= 0xD800 && value <= 0xDFFF;
  if (value == 0 || surrogate) return std::nullopt;
  return value;
}

std::optional<std::string_view> NamedEntity(std::string_view name) {
  if (name == "amp") return "&";
  if (name == "lt") return "<";
  if (name == "gt") return ">";
  if (name == "quot") return "\"";
  if (name == "apos") return "'";
  return std::nullopt;
}

}  // namespace

Result<std::string> XmlUnescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const size_t amp = text.find('&', i);
    out.append(text.substr(i, amp == std::string_view::npos ? text.size() - i : amp - i));
    if (amp == std::string_view::npos) break;
    const size_t semicolon = text.find(';', amp);
    if (semicolon == std::string_view::npos || semicolon - amp > 12) {
      return Status::IOError("malformed XML entity in '" + std::string(text.substr(0, 64)) + "'");
    }
    const std::string_view name = text.substr(amp + 1, semicolon - amp - 1);
    if (!name.empty() && name[0] == '#') {
      const std::optional<uint32_t> code_point = ParseCodePoint(name.substr(1));
      if (!code_point)
        return Status::IOError("bad XML character reference &" + std::string(name) + ";");
      AppendUtf8(*code_point, out);
    } else if (const auto decoded = NamedEntity(name)) {
      out.append(*decoded);
    } else {
      return Status::IOError("unknown XML entity &" + std::string(name) + ";");
    }
    i = semicolon + 1;
  }
  return out;
}

Result<ListObjectsPage> ParseListObjectsV2(std::string_view xml) {
  const size_t root = xml.find("<ListBucketResult");
  if (root == std::string_view::npos) return Malformed("no <ListBucketResult>");
  const size_t root_end = xml.rfind("</ListBucketResult>");
  if (root_end == std::string_view::npos || root_end < root) {
    return Malformed("<ListBucketResult> never closes (truncated?)");
  }
  const std::string_view body = xml.substr(root, root_end - root);

  ListObjectsPage page;
  // Everything but the <Contents> blocks: the top-level elements are looked
  // up there, so no text inside an entry can pass for one of them.
  std::string outside;
  size_t position = 0;
  while (true) {
    const size_t start = body.find("<Contents>", position);
    outside.append(body.substr(
        position, start == std::string_view::npos ? body.size() - position : start - position));
    if (start == std::string_view::npos) break;
    ASSIGN_OR_RETURN(std::optional<Element> contents, FindElement(body, "Contents", start));
    ASSIGN_OR_RETURN(ListObjectsEntry entry, ParseContents(contents->text));
    page.entries.push_back(std::move(entry));
    position = contents->end;
  }

  ASSIGN_OR_RETURN(std::optional<Element> truncated, FindElement(outside, "IsTruncated"));
  if (!truncated) return Malformed("no <IsTruncated>");
  if (truncated->text != "true" && truncated->text != "false") {
    return Malformed("<IsTruncated> is neither true nor false");
  }
  page.is_truncated = truncated->text == "true";
  if (!page.is_truncated) return page;

  ASSIGN_OR_RETURN(std::optional<Element> token, FindElement(outside, "NextContinuationToken"));
  if (!token || token->text.empty())
    return Malformed("truncated page without a continuation token");
  ASSIGN_OR_RETURN(page.next_continuation_token, XmlUnescape(token->text));
  return page;
}

S3ErrorBody ParseS3Error(std::string_view xml) {
  S3ErrorBody error;
  const size_t root = xml.find("<Error>");
  if (root == std::string_view::npos) return error;
  const std::string_view body = xml.substr(root);
  for (auto [tag, field] : {std::pair{"Code", &error.code}, std::pair{"Message", &error.message}}) {
    Result<std::optional<Element>> element = FindElement(body, tag);
    if (!element.ok() || !element.value()) continue;
    Result<std::string> text = XmlUnescape(element.value()->text);
    if (text.ok()) *field = std::move(text).value();
  }
  if (error.message.size() > kMaxErrorMessage) error.message.resize(kMaxErrorMessage);
  return error;
}

}  // namespace re2po
