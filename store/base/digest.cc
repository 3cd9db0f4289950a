#include "store/base/digest.h"

#include <openssl/evp.h>

namespace re2po {

struct Sha256::Ctx {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr);
}

Sha256::~Sha256() = default;

void Sha256::Update(std::span<const uint8_t> bytes) {
  EVP_DigestUpdate(ctx_->md, bytes.data(), bytes.size());
}

void Sha256::Update(std::string_view bytes) {
  EVP_DigestUpdate(ctx_->md, bytes.data(), bytes.size());
}

Digest Sha256::Finish() {
  Digest digest;
  EVP_DigestFinal_ex(ctx_->md, digest.bytes.data(), nullptr);
  EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr);
  return digest;
}

Digest Sha256Of(std::span<const uint8_t> bytes) {
  Digest digest;
  EVP_Digest(bytes.data(), bytes.size(), digest.bytes.data(), nullptr, EVP_sha256(), nullptr);
  return digest;
}

Digest Sha256Of(std::string_view bytes) {
  return Sha256Of(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

std::string HexOf(std::string_view raw) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(raw.size() * 2);
  for (char c : raw) {
    const auto byte = static_cast<uint8_t>(c);
    hex.push_back(kHex[byte >> 4]);
    hex.push_back(kHex[byte & 15]);
  }
  return hex;
}

std::string Digest::Hex() const { return HexOf(view()); }

Result<Digest> Digest::FromView(std::string_view raw) {
  if (raw.size() != 32) return Status::Corruption("digest is not 32 bytes");
  Digest digest;
  std::memcpy(digest.bytes.data(), raw.data(), 32);
  return digest;
}

Result<Digest> Digest::FromHex(std::string_view hex) {
  if (hex.size() != 64) return Status::InvalidArgument("a digest is 64 hex digits");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Digest digest;
  for (size_t i = 0; i < 32; ++i) {
    int high = nibble(hex[2 * i]);
    int low = nibble(hex[2 * i + 1]);
    if (high < 0 || low < 0)
      return Status::InvalidArgument("not a hex digest: " + std::string(hex));
    digest.bytes[i] = static_cast<uint8_t>(high << 4 | low);
  }
  return digest;
}

}  // namespace re2po
