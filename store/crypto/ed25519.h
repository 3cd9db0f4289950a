// ed25519 keys and signatures (OpenSSL 3): publishers sign the catalogs
// they push, nodes verify them against the key they trust. A key pair lives
// in two PEM files: PATH (the private key, mode 0600) and PATH.pub.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "store/base/status.h"

namespace re2po {

namespace crypto_detail {
struct PkeyDeleter {
  void operator()(void* key) const;
};
using Pkey = std::unique_ptr<void, PkeyDeleter>;
}  // namespace crypto_detail

inline constexpr size_t kEd25519PublicKeySize = 32;
inline constexpr size_t kEd25519SignatureSize = 64;

class PublicKey {
 public:
  static Result<PublicKey> Load(const std::filesystem::path& path);
  static Result<PublicKey> FromRaw(std::string_view raw);

  // True when `signature` is this key's over `message`.
  bool Verify(std::string_view message, std::string_view signature) const;
  const std::string& raw() const { return raw_; }  // the 32-byte key
  // A short name for messages: the first 8 bytes of SHA-256(raw), in hex.
  std::string Id() const;
  std::string Pem() const;

 private:
  PublicKey(crypto_detail::Pkey key, std::string raw)
      : key_(std::move(key)), raw_(std::move(raw)) {}
  crypto_detail::Pkey key_;
  std::string raw_;
};

class SigningKey {
 public:
  static Result<SigningKey> Generate();
  static Result<SigningKey> Load(const std::filesystem::path& path);
  // Writes PATH (mode 0600, created new: an existing file is AlreadyExists)
  // and PATH.pub.
  Status Save(const std::filesystem::path& path) const;

  Result<std::string> Sign(std::string_view message) const;
  const PublicKey& public_key() const { return public_key_; }

 private:
  SigningKey(crypto_detail::Pkey key, PublicKey public_key)
      : key_(std::move(key)), public_key_(std::move(public_key)) {}
  crypto_detail::Pkey key_;
  PublicKey public_key_;
};

}  // namespace re2po
