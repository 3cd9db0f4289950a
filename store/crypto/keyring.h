// A keyring file: the data keys of protected models, by name. Plain text,
// one key per line, mode 0600; it is refused when group or others may read
// it, and a key's secret never reaches a log (docs/format.md).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "store/base/status.h"
#include "store/crypto/sealing_key.h"

namespace re2po {

class Keyring {
 public:
  Keyring() = default;

  // Writes an empty keyring at `path` (created new, mode 0600).
  static Status Create(const std::filesystem::path& path);
  static Result<Keyring> Load(const std::filesystem::path& path);
  // Replaces `path` whole (a temporary file renamed over it, mode 0600).
  Status Save(const std::filesystem::path& path) const;

  // AlreadyExists when a key of that name or id is in the ring.
  Status Add(SealingKey key);
  // NotFound names the key and the keyring's keys.
  Result<const SealingKey*> Find(std::string_view name) const;
  const SealingKey* FindById(std::string_view id) const;
  const std::vector<SealingKey>& keys() const { return keys_; }

 private:
  std::vector<SealingKey> keys_;
};

// A key's name: [A-Za-z0-9][A-Za-z0-9._-]*, at most 64 bytes.
Status ValidateKeyName(std::string_view name);

}  // namespace re2po
