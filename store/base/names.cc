#include "store/base/names.h"

#include <charconv>

namespace re2po {
namespace {

bool IsModelChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

Status ValidateModelName(std::string_view name) {
  auto invalid = [&](const std::string& why) {
    return Status::InvalidArgument("invalid model name '" + Printable(name) + "': " + why +
                                   " (allowed: letters, digits, '.', '_', '-'; first a letter or "
                                   "digit; at most 128 bytes)");
  };
  if (name.empty()) return invalid("empty");
  if (name.size() > kMaxModelNameLength) return invalid("too long");
  if (!IsModelChar(name[0]) || name[0] == '.' || name[0] == '_' || name[0] == '-') {
    return invalid("must start with a letter or digit");
  }
  for (char c : name) {
    if (!IsModelChar(c)) return invalid(std::string("character '") + Printable({&c, 1}) + "'");
  }
  return Status::Ok();
}

Status ValidatePathComponent(std::string_view component) {
  auto invalid = [&](const std::string& why) {
    return Status::InvalidArgument("refused name '" + Printable(component) + "': " + why);
  };
  if (component.empty()) return invalid("empty name");
  if (component == "." || component == "..") return invalid("'.' and '..' are not names");
  if (component.size() > kMaxComponentLength) return invalid("longer than 255 bytes");
  for (char c : component) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '/') return invalid("contains '/'");
    if (byte < 0x20 || byte == 0x7f) return invalid("contains a control character");
  }
  return Status::Ok();
}

Result<uint64_t> ParseVersionNumber(std::string_view text) {
  auto invalid = [&] {
    return Status::InvalidArgument("invalid version '" + Printable(text) +
                                   "': a non-negative integer without leading zeros");
  };
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return invalid();
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return invalid();
  return value;
}

Result<VersionRef> ParseVersionRef(std::string_view text) {
  VersionRef ref;
  size_t at = text.rfind('@');
  ref.model = std::string(text.substr(0, at));
  RETURN_IF_ERROR(ValidateModelName(ref.model));
  if (at != std::string_view::npos) {
    ASSIGN_OR_RETURN(ref.version, ParseVersionNumber(text.substr(at + 1)));
  }
  return ref;
}

}  // namespace re2po
