#include "store/remote/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>

namespace re2po {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kService = "s3";
constexpr char kHexDigits[] = "0123456789abcdef";

using Sha256Bytes = std::array<unsigned char, 32>;

std::string Hex(const Sha256Bytes& bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char byte : bytes) {
    out.push_back(kHexDigits[byte >> 4]);
    out.push_back(kHexDigits[byte & 0xf]);
  }
  return out;
}

Sha256Bytes HmacSha256(std::string_view key, std::string_view data) {
  Sha256Bytes out{};
  unsigned int length = 0;
  // One-shot HMAC: no context to own.
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &length);
  return out;
}

std::string_view AsView(const Sha256Bytes& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::string Lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// AWS canonical header values: trimmed, inner runs of spaces made one.
std::string CanonicalHeaderValue(std::string_view value) {
  std::string out;
  bool pending_space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

struct CanonicalHeaders {
  std::string block;  // "name:value\n" per header, sorted by name
  std::string names;  // "host;x-amz-date"
};

CanonicalHeaders Canonicalize(HeaderList headers) {
  for (auto& [name, value] : headers) {
    name = Lowercase(name);
    value = CanonicalHeaderValue(value);
  }
  std::sort(headers.begin(), headers.end());
  CanonicalHeaders out;
  for (const auto& [name, value] : headers) {
    out.block += name + ":" + value + "\n";
    if (!out.names.empty()) out.names += ";";
    out.names += name;
  }
  return out;
}

}  // namespace

std::string UriEncode(std::string_view text, bool keep_slash) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(c);
      continue;
    }
    out.push_back('%');
    out.push_back(static_cast<char>(std::toupper(kHexDigits[byte >> 4])));
    out.push_back(static_cast<char>(std::toupper(kHexDigits[byte & 0xf])));
  }
  return out;
}

std::string EncodeQuery(const QueryParams& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [key, value] : query) {
    encoded.emplace_back(UriEncode(key, false), UriEncode(value, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [key, value] : encoded) {
    if (!out.empty()) out += "&";
    out += key + "=" + value;
  }
  return out;
}

std::string Sha256Hex(std::string_view bytes) {
  Sha256Bytes digest{};
  EVP_Digest(bytes.data(), bytes.size(), digest.data(), nullptr, EVP_sha256(), nullptr);
  return Hex(digest);
}

std::string AmzDate(std::chrono::system_clock::time_point when) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[17];
  std::strftime(text, sizeof(text), "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

SigV4Signed SignV4(const SigV4Request& request, const AwsCredentials& credentials,
                   std::string_view region, std::string_view amz_date) {
  SigV4Signed out;
  out.encoded_path = UriEncode(request.path.empty() ? "/" : request.path, true);

  HeaderList to_sign = request.extra_headers;
  to_sign.emplace_back("host", std::string(request.host));
  out.headers.emplace_back("x-amz-content-sha256", std::string(request.payload_sha256));
  out.headers.emplace_back("x-amz-date", std::string(amz_date));
  if (!credentials.session_token.empty()) {
    out.headers.emplace_back("x-amz-security-token", credentials.session_token);
  }
  to_sign.insert(to_sign.end(), out.headers.begin(), out.headers.end());
  const CanonicalHeaders canonical = Canonicalize(std::move(to_sign));

  out.canonical_request = std::string(request.method) + "\n" + out.encoded_path + "\n" +
                          EncodeQuery(request.query) + "\n" + canonical.block + "\n" +
                          canonical.names + "\n" + std::string(request.payload_sha256);

  const std::string_view date = amz_date.substr(0, 8);
  const std::string scope =
      std::string(date) + "/" + std::string(region) + "/" + std::string(kService) + "/aws4_request";
  out.string_to_sign = std::string(kAlgorithm) + "\n" + std::string(amz_date) + "\n" + scope +
                       "\n" + Sha256Hex(out.canonical_request);

  const Sha256Bytes date_key = HmacSha256("AWS4" + credentials.secret_access_key, date);
  const Sha256Bytes region_key = HmacSha256(AsView(date_key), region);
  const Sha256Bytes service_key = HmacSha256(AsView(region_key), kService);
  const Sha256Bytes signing_key = HmacSha256(AsView(service_key), "aws4_request");
  out.signature = Hex(HmacSha256(AsView(signing_key), out.string_to_sign));

  out.headers.emplace_back("Authorization", std::string(kAlgorithm) +
                                                " Credential=" + credentials.access_key_id + "/" +
                                                scope + ",SignedHeaders=" + canonical.names +
                                                ",Signature=" + out.signature);
  return out;
}

}  // namespace re2po
