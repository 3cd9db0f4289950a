// Keys of the catalog and metadata column families (docs/format.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace re2po::keys {

inline constexpr std::string_view kSchema = "schema";
inline constexpr std::string_view kStoreId = "store_id";
inline constexpr std::string_view kCreated = "created_ns";
inline constexpr std::string_view kGeneration = "generation";
inline constexpr std::string_view kNextSeq = "next_seq";

inline constexpr char kModelTag = 'm';
inline constexpr char kVersionTag = 'v';
inline constexpr char kTreeTag = 't';
inline constexpr char kTensorNameTag = 'n';
inline constexpr char kSignatureTag = 's';
inline constexpr char kTensorSketchTag = 'k';
inline constexpr char kTensorPermutationTag = 'p';

std::string Model(std::string_view model);
std::string Version(std::string_view model, uint64_t version);
std::string Tree(std::string_view model, uint64_t version);
std::string Signature(std::string_view model, uint64_t version);
// All version keys of one model share this prefix.
std::string VersionPrefix(std::string_view model);

struct ParsedVersionKey {
  std::string model;
  uint64_t version = 0;
};
std::optional<ParsedVersionKey> ParseVersionKey(std::string_view key);

// 'n' + the first 16 bytes of SHA-256 over u8 dtype, varint rank, zigzag
// dims, name: where the last stored tensor of that name, type and shape is.
std::string TensorName(uint8_t dtype, const std::vector<int64_t>& shape, std::string_view name);
// `sketch`: store/import/tensor_sketch.h.
std::string TensorSketch(uint8_t dtype, const std::vector<int64_t>& shape, std::string_view sketch);
// `sketch`: PermutationSketchOf (it holds the sorted dims).
std::string TensorPermutation(uint8_t dtype, std::string_view sketch);

}  // namespace re2po::keys
