// Chunk codecs. The codec id is the first byte of every stored chunk value
// (docs/format.md), so a new codec needs no migration: only a new id.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "store/dtype.h"
#include "store/status.h"

namespace re2po {

enum class CodecId : uint8_t { kRaw = 0, kZstd = 1 };

struct CodecOptions {
  int zstd_level = 1;
  // Keep the compressed form only if it saves at least this fraction:
  // below that, decompression time buys too little disk.
  double min_saving = 0.03;
};

struct EncodedChunk {
  CodecId codec = CodecId::kRaw;
  std::string payload;
};

// Compresses when that saves space, else keeps the bytes raw. `dtype` is a
// hint for future type-aware codecs.
EncodedChunk EncodeChunk(std::span<const uint8_t> raw, DType dtype, const CodecOptions& options);

// The stored value of a chunk in one allocation: codec byte, varint raw
// size, payload (docs/format.md). `payload_size` receives the payload's size.
std::string EncodeChunkValue(std::span<const uint8_t> raw, DType dtype, const CodecOptions& options,
                             size_t& payload_size);

// Decodes into `out`, which must have exactly `raw_size` bytes.
Status DecodeChunk(CodecId codec, std::string_view payload, std::span<uint8_t> out);

}  // namespace re2po
