// Codec 2, byte planes (docs/format.md): internal to codec.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "store/chunks/codec.h"

namespace re2po {

// Appends the planes payload of `raw` to `out` when it saves at least
// options.min_saving over the raw bytes; otherwise leaves `out` alone.
bool AppendBytePlanes(std::span<const uint8_t> raw, size_t width, const CodecOptions& options,
                      std::string& out);

Status DecodeBytePlanes(std::string_view payload, std::span<uint8_t> out);

// zstd through a per-thread context; nullopt when it does not save
// `min_saving` (or fails). Shared by the plain and plane codecs.
std::optional<size_t> CompressInto(std::span<const uint8_t> raw, const CodecOptions& options,
                                   std::string& out);
Status DecompressZstd(std::string_view payload, std::span<uint8_t> out);

}  // namespace re2po
