// GGUF (ggml's single-file model format), versions 2 and 3, little-endian:
// header, metadata key/values, tensor infos, then the data section at the
// next multiple of general.alignment. Version 1 (32-bit counts) is rejected.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "store/formats/format.h"

namespace re2po {

const FormatParser& GgufFormat();

bool SniffGguf(std::string_view file_name, ByteSpan head);
Result<ParsedFile> ParseGguf(ByteSpan bytes);

// Block layout of one ggml tensor type: `block_elements` values are stored in
// `block_bytes` bytes (1 and the element size for unquantized types).
struct GgmlTypeInfo {
  uint32_t id;
  std::string_view name;  // ggml's spelling, e.g. "Q4_K"
  uint32_t block_elements;
  uint32_t block_bytes;
};

// The ggml type with this id, or nullopt for removed and unknown ids.
std::optional<GgmlTypeInfo> FindGgmlType(uint32_t id);

}  // namespace re2po
