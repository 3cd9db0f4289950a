// Chunk codecs. The codec id is the first byte of every stored chunk value
// (docs/format.md), so a new codec needs no migration: only a new id.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "store/base/digest.h"
#include "store/base/dtype.h"
#include "store/base/status.h"
#include "store/chunks/derivation.h"
#include "store/crypto/sealing_key.h"

namespace re2po {

enum class CodecId : uint8_t {
  kRaw = 0,
  kZstd = 1,
  kBytePlanes = 2,
  kDelta = 3,
  kSealed = 4,
  kDerived = 5,
};

// Set in the codec byte of values that carry a checksum of their raw bytes.
inline constexpr uint8_t kChecksumFlag = 0x80;

struct CodecOptions {
  int zstd_level = 1;
  // Keep the compressed form only if it saves at least this fraction:
  // below that, decompression time buys too little disk.
  double min_saving = 0.03;
  // Tensors of 2-, 4- and 8-byte elements are stored as byte planes
  // (store/chunks/byte_planes.h); false stores them with plain zstd.
  bool byte_planes = true;
};

// The element width whose byte planes are worth splitting for `dtype`
// (floats, wide integers, complex parts); 0 when the chunk is not split.
size_t PlaneWidth(DType dtype);

// The stored value of the chunk `name` in one allocation: codec byte (with
// kChecksumFlag), varint raw size, fixed64 checksum, payload
// (docs/format.md). `payload_size` receives the payload's size.
std::string EncodeChunkValue(const Digest& name, std::span<const uint8_t> raw, DType dtype,
                             const CodecOptions& options, size_t& payload_size);

// Codec 3: the chunk stored as the XOR of its bytes with those of another
// chunk of the same size (a tensor piece of the model it was fine-tuned
// from); the XOR is stored with the codec the writer would pick for it.
// The base must not be a delta chunk itself.
std::string EncodeDeltaChunkValue(const Digest& name, std::span<const uint8_t> raw,
                                  const Digest& base, std::span<const uint8_t> base_raw,
                                  DType dtype, const CodecOptions& options, size_t& payload_size);

struct DeltaPayload {
  Digest base;
  CodecId inner = CodecId::kRaw;
  std::string_view inner_payload;
};
Result<DeltaPayload> ParseDeltaPayload(std::string_view payload);

// Codec 5: the chunk stored as the XOR of its bytes with a prediction made
// from another chunk by `transform` (store/chunks/derivation.h), e.g. the
// fp16 cast of an fp32 piece twice its size; the XOR is stored with the
// codec the writer would pick for it. The base must not be a delta or
// derived chunk itself.
std::string EncodeDerivedChunkValue(const Digest& name, std::span<const uint8_t> raw,
                                    const Digest& base, const Transform& transform,
                                    std::span<const uint8_t> prediction, DType dtype,
                                    const CodecOptions& options, size_t& payload_size);

struct DerivedPayload {
  Transform transform;
  Digest base;
  CodecId inner = CodecId::kRaw;
  std::string_view inner_payload;
};
Result<DerivedPayload> ParseDerivedPayload(std::string_view payload);

// Codec 4: a chunk of a protected model. The payload is `inner_value` (a
// whole chunk value of another codec, with its checksum) sealed by `key`
// (store/crypto/sealing_key.h); the header keeps only the raw size, since a
// checksum of the plaintext would let anyone confirm a guess of it.
std::string SealChunkValue(const Digest& name, uint64_t raw_size, std::string_view inner_value,
                           const SealingKey& key);

// out[i] ^= base[i] over the shorter of the two.
void XorInto(std::span<uint8_t> out, std::span<const uint8_t> base);

struct ChunkValue {
  CodecId codec = CodecId::kRaw;
  uint64_t raw_size = 0;
  // Absent in values written before checksums were (a read then re-hashes).
  std::optional<uint64_t> checksum;
  std::string_view payload;
};
Result<ChunkValue> ParseChunkValue(std::string_view value);

// Decodes into `out`, which must have exactly the raw size. Not for codecs 3
// and 5, whose base the store fetches (store_read.cc), nor codec 4, which
// needs a key (store/chunks/chunk_decoder.h).
Status DecodeChunk(CodecId codec, std::string_view payload, std::span<uint8_t> out);

// XXH3-64 of a chunk's raw bytes, seeded with its name, so that a value
// found under another chunk's key fails too: what a read checks. The name
// itself, a SHA-256, is what `re2po verify` checks.
uint64_t ChunkChecksum(const Digest& name, std::span<const uint8_t> raw);

}  // namespace re2po
