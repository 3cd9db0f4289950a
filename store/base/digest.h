// SHA-256 digests name chunks, files and versions. OpenSSL's EVP interface
// picks the SHA-NI / AVX2 implementation at run time.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "store/base/status.h"

namespace re2po {

// Lower-case hex of any bytes.
std::string HexOf(std::string_view raw);

struct Digest {
  std::array<uint8_t, 32> bytes{};

  std::string_view view() const {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }
  std::string Hex() const;
  std::string ShortHex() const { return Hex().substr(0, 12); }
  static Result<Digest> FromView(std::string_view raw);
  static Result<Digest> FromHex(std::string_view hex);

  friend bool operator==(const Digest&, const Digest&) = default;
  friend auto operator<=>(const Digest&, const Digest&) = default;
};

struct DigestHash {
  size_t operator()(const Digest& digest) const {
    size_t value;
    std::memcpy(&value, digest.bytes.data(), sizeof value);  // already uniform
    return value;
  }
};

// Incremental hashing; one object per thread of work.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::span<const uint8_t> bytes);
  void Update(std::string_view bytes);
  Digest Finish();  // also resets for reuse

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

Digest Sha256Of(std::span<const uint8_t> bytes);
Digest Sha256Of(std::string_view bytes);

}  // namespace re2po
