// A data key of protected models (AES-256-GCM, OpenSSL 3). Three values are
// derived from one 32-byte secret, each by HMAC-SHA256 under its own label:
// the cipher key, the key that names chunks and files (so a store or a
// remote learns neither their content nor which tensors they share with
// open models), and a key id that says which key sealed a value without
// saying anything about the secret.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "store/base/digest.h"
#include "store/base/status.h"

namespace re2po {

inline constexpr size_t kKeyIdSize = 16;
inline constexpr size_t kSealNonceSize = 12;
inline constexpr size_t kSealTagSize = 16;
// Key id, nonce and tag around the ciphertext of a sealed value.
inline constexpr size_t kSealOverhead = kKeyIdSize + kSealNonceSize + kSealTagSize;

class SealingKey {
 public:
  static constexpr size_t kSecretSize = 32;

  // A new key from the system's random source.
  static Result<SealingKey> Generate(std::string name);
  static Result<SealingKey> FromSecret(std::string name, std::string_view secret,
                                       int64_t created_ns);
  // The secret and derived keys are wiped when a copy goes.
  ~SealingKey();
  SealingKey(const SealingKey&) = default;
  SealingKey& operator=(const SealingKey&) = default;
  SealingKey(SealingKey&&) = default;
  SealingKey& operator=(SealingKey&&) = default;

  const std::string& name() const { return name_; }
  // kKeyIdSize raw bytes; IdHex() for people.
  std::string_view id() const { return {id_.data(), id_.size()}; }
  std::string IdHex() const;
  std::string_view secret() const { return {secret_.data(), secret_.size()}; }
  int64_t created_ns() const { return created_ns_; }

  // What a protected chunk or file is called: HMAC-SHA256 of its bytes
  // under the naming key. Equal bytes get equal names under one key only.
  Digest NameOf(std::span<const uint8_t> bytes) const;

  // key id || random nonce || AES-256-GCM(plaintext) || tag, authenticated
  // together with `name`, so a value moved under another name fails.
  std::string Seal(const Digest& name, std::string_view plaintext) const;
  // The plaintext of Seal's output; Corruption when it fails authentication
  // (damaged, or stored under another name), InvalidArgument when another
  // key sealed it.
  Result<std::string_view> Open(const Digest& name, std::string_view sealed,
                                std::string& plaintext) const;

 private:
  SealingKey() = default;
  std::string name_;
  std::array<char, kSecretSize> secret_{};
  std::array<uint8_t, 32> cipher_key_{};
  std::array<uint8_t, 32> naming_key_{};
  std::array<char, kKeyIdSize> id_{};
  int64_t created_ns_ = 0;
};

// The key id a sealed value names (its first kKeyIdSize bytes).
Result<std::string_view> SealedKeyId(std::string_view sealed);

}  // namespace re2po
