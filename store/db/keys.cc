#include "store/db/keys.h"

#include "store/base/coding.h"
#include "store/base/digest.h"

namespace re2po::keys {
namespace {
// tag, model name, NUL, big-endian version: versions sort numerically.
std::string VersionedKey(char tag, std::string_view model, uint64_t version) {
  std::string key(1, tag);
  key.append(model);
  key.push_back('\0');
  PutBigEndian64(key, version);
  return key;
}
}  // namespace

std::string Model(std::string_view model) {
  std::string key(1, kModelTag);
  key.append(model);
  return key;
}

std::string Version(std::string_view model, uint64_t version) {
  return VersionedKey(kVersionTag, model, version);
}

std::string Tree(std::string_view model, uint64_t version) {
  return VersionedKey(kTreeTag, model, version);
}

std::string Signature(std::string_view model, uint64_t version) {
  return VersionedKey(kSignatureTag, model, version);
}

std::string VersionPrefix(std::string_view model) {
  std::string key(1, kVersionTag);
  key.append(model);
  key.push_back('\0');
  return key;
}

namespace {

// The first 16 bytes of SHA-256 over dtype, shape and `tail`, after `tag`.
std::string HashedTensorKey(char tag, uint8_t dtype, const std::vector<int64_t>& shape,
                            std::string_view tail) {
  std::string hashed(1, static_cast<char>(dtype));
  PutVarint(hashed, shape.size());
  for (int64_t dim : shape) PutVarint(hashed, ZigZag(dim));
  hashed.append(tail);
  const Digest digest = Sha256Of(hashed);
  std::string key(1, tag);
  key.append(digest.view().substr(0, 16));
  return key;
}

}  // namespace

std::string TensorName(uint8_t dtype, const std::vector<int64_t>& shape, std::string_view name) {
  return HashedTensorKey(kTensorNameTag, dtype, shape, name);
}

std::string TensorPermutation(uint8_t dtype, std::string_view sketch) {
  return HashedTensorKey(kTensorPermutationTag, dtype, {}, sketch);
}

std::string TensorSketch(uint8_t dtype, const std::vector<int64_t>& shape,
                         std::string_view sketch) {
  return HashedTensorKey(kTensorSketchTag, dtype, shape, sketch);
}

std::optional<ParsedVersionKey> ParseVersionKey(std::string_view key) {
  if (key.size() < 1 + 1 + 1 + 8) return std::nullopt;
  size_t nul = key.size() - 9;
  if (key[nul] != '\0') return std::nullopt;
  return ParsedVersionKey{std::string(key.substr(1, nul - 1)),
                          DecodeBigEndian64(key.data() + nul + 1)};
}

}  // namespace re2po::keys
