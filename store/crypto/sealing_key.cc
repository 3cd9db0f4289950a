#include "store/crypto/sealing_key.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <memory>

#include "store/base/clock.h"

namespace re2po {
namespace {

// Labels of the derived keys: a new derivation gets a new label, never a
// changed one.
constexpr std::string_view kCipherLabel = "re2po sealing key v1: cipher";
constexpr std::string_view kNamingLabel = "re2po sealing key v1: names";
constexpr std::string_view kIdLabel = "re2po sealing key v1: id";
constexpr std::string_view kAadContext = "re2po sealed chunk v1";

std::array<uint8_t, 32> Hmac(std::string_view key, std::span<const uint8_t> data) {
  std::array<uint8_t, 32> out{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(), out.data(),
       &length);
  return out;
}

std::array<uint8_t, 32> Derive(std::string_view secret, std::string_view label) {
  return Hmac(secret, {reinterpret_cast<const uint8_t*>(label.data()), label.size()});
}

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};

// A context per thread: creating one costs more than sealing a small chunk.
EVP_CIPHER_CTX* ThreadCipherCtx() {
  thread_local std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter> ctx(EVP_CIPHER_CTX_new());
  return ctx.get();
}

const unsigned char* Bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}
unsigned char* Bytes(std::string& text, size_t at) {
  return reinterpret_cast<unsigned char*>(text.data() + at);
}

bool AddAad(EVP_CIPHER_CTX* ctx, const Digest& name, bool encrypt) {
  int ignored = 0;
  auto update = encrypt ? EVP_EncryptUpdate : EVP_DecryptUpdate;
  return update(ctx, nullptr, &ignored, Bytes(kAadContext), static_cast<int>(kAadContext.size())) ==
             1 &&
         update(ctx, nullptr, &ignored, name.bytes.data(), static_cast<int>(name.bytes.size())) ==
             1;
}

}  // namespace

SealingKey::~SealingKey() {
  OPENSSL_cleanse(secret_.data(), secret_.size());
  OPENSSL_cleanse(cipher_key_.data(), cipher_key_.size());
  OPENSSL_cleanse(naming_key_.data(), naming_key_.size());
}

Result<SealingKey> SealingKey::Generate(std::string name) {
  std::array<unsigned char, kSecretSize> secret{};
  if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1) {
    return Status::IOError("the system's random source failed");
  }
  Result<SealingKey> key = FromSecret(
      std::move(name), {reinterpret_cast<const char*>(secret.data()), secret.size()}, NowNs());
  OPENSSL_cleanse(secret.data(), secret.size());
  return key;
}

Result<SealingKey> SealingKey::FromSecret(std::string name, std::string_view secret,
                                          int64_t created_ns) {
  if (secret.size() != kSecretSize) {
    return Status::InvalidArgument("a sealing key's secret is " + std::to_string(kSecretSize) +
                                   " bytes, not " + std::to_string(secret.size()));
  }
  SealingKey key;
  key.name_ = std::move(name);
  std::copy(secret.begin(), secret.end(), key.secret_.begin());
  key.cipher_key_ = Derive(secret, kCipherLabel);
  key.naming_key_ = Derive(secret, kNamingLabel);
  const std::array<uint8_t, 32> id = Derive(secret, kIdLabel);
  std::copy_n(id.begin(), kKeyIdSize, key.id_.begin());
  key.created_ns_ = created_ns;
  return key;
}

std::string SealingKey::IdHex() const { return HexOf(id()); }

Digest SealingKey::NameOf(std::span<const uint8_t> bytes) const {
  Digest name;
  name.bytes = Hmac({reinterpret_cast<const char*>(naming_key_.data()), naming_key_.size()}, bytes);
  return name;
}

std::string SealingKey::Seal(const Digest& name, std::string_view plaintext) const {
  std::string out(kKeyIdSize + kSealNonceSize + plaintext.size() + kSealTagSize, '\0');
  std::copy(id_.begin(), id_.end(), out.begin());
  unsigned char* nonce = Bytes(out, kKeyIdSize);
  // A random 96-bit nonce per value: a key seals each distinct chunk once
  // (its name is its content's), far below GCM's 2^32 random-nonce bound.
  if (RAND_bytes(nonce, kSealNonceSize) != 1) std::abort();
  EVP_CIPHER_CTX* ctx = ThreadCipherCtx();
  int length = 0;
  const bool ok =
      EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, cipher_key_.data(), nonce) == 1 &&
      AddAad(ctx, name, true) &&
      EVP_EncryptUpdate(ctx, Bytes(out, kKeyIdSize + kSealNonceSize), &length, Bytes(plaintext),
                        static_cast<int>(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx, Bytes(out, kKeyIdSize + kSealNonceSize + plaintext.size()),
                          &length) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kSealTagSize,
                          Bytes(out, out.size() - kSealTagSize)) == 1;
  // Sealing in memory with a valid key cannot fail short of a broken
  // library; storing the plaintext instead is not an option.
  if (!ok) std::abort();
  return out;
}

Result<std::string_view> SealingKey::Open(const Digest& name, std::string_view sealed,
                                          std::string& plaintext) const {
  ASSIGN_OR_RETURN(std::string_view key_id, SealedKeyId(sealed));
  if (key_id != id()) {
    return Status::InvalidArgument("value sealed by key " + HexOf(key_id) + ", not by " + name_);
  }
  const std::string_view nonce = sealed.substr(kKeyIdSize, kSealNonceSize);
  const std::string_view ciphertext =
      sealed.substr(kKeyIdSize + kSealNonceSize, sealed.size() - kSealOverhead);
  std::string tag(sealed.substr(sealed.size() - kSealTagSize));
  plaintext.resize(ciphertext.size());
  EVP_CIPHER_CTX* ctx = ThreadCipherCtx();
  int length = 0;
  const bool ok =
      EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, cipher_key_.data(), Bytes(nonce)) == 1 &&
      AddAad(ctx, name, false) &&
      EVP_DecryptUpdate(ctx, Bytes(plaintext, 0), &length, Bytes(ciphertext),
                        static_cast<int>(ciphertext.size())) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kSealTagSize, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx, Bytes(plaintext, ciphertext.size()), &length) == 1;
  if (!ok) return Status::Corruption("sealed value fails authentication under key " + name_);
  return std::string_view(plaintext);
}

Result<std::string_view> SealedKeyId(std::string_view sealed) {
  if (sealed.size() < kSealOverhead) return Status::Corruption("sealed value too short");
  return sealed.substr(0, kKeyIdSize);
}

}  // namespace re2po
