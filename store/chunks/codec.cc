#include "store/chunks/codec.h"

#include <endian.h>
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "store/base/coding.h"
#include "store/chunks/codec_planes.h"

namespace re2po {
namespace {

// Below this a chunk is header-sized: compression cannot pay.
constexpr size_t kMinCompressible = 64;

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* ctx) const { ZSTD_freeCCtx(ctx); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* ctx) const { ZSTD_freeDCtx(ctx); }
};

// zstd contexts are expensive to create and not thread-safe: one per thread.
ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxDeleter> ctx(ZSTD_createCCtx());
  return ctx.get();
}

ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxDeleter> ctx(ZSTD_createDCtx());
  return ctx.get();
}

char CodecByte(CodecId codec) {
  return static_cast<char>(static_cast<uint8_t>(codec) | kChecksumFlag);
}

std::string Header(CodecId codec, const Digest& name, std::span<const uint8_t> raw) {
  std::string header(1, CodecByte(codec));
  PutVarint(header, raw.size());
  PutFixed64(header, ChunkChecksum(name, raw));
  return header;
}

}  // namespace

std::optional<size_t> CompressInto(std::span<const uint8_t> raw, const CodecOptions& options,
                                   std::string& out) {
  if (raw.size() < kMinCompressible) return std::nullopt;
  const size_t start = out.size();
  out.resize(start + ZSTD_compressBound(raw.size()));
  const size_t size = ZSTD_compressCCtx(ThreadCCtx(), out.data() + start, out.size() - start,
                                        raw.data(), raw.size(), options.zstd_level);
  const double limit = static_cast<double>(raw.size()) * (1.0 - options.min_saving);
  if (ZSTD_isError(size) || static_cast<double>(size) > limit) {
    out.resize(start);
    return std::nullopt;
  }
  out.resize(start + size);
  return size;
}

Status DecompressZstd(std::string_view payload, std::span<uint8_t> out) {
  const size_t size =
      ZSTD_decompressDCtx(ThreadDCtx(), out.data(), out.size(), payload.data(), payload.size());
  if (ZSTD_isError(size))
    return Status::Corruption(std::string("zstd: ") + ZSTD_getErrorName(size));
  if (size != out.size()) return Status::Corruption("zstd chunk decoded to the wrong size");
  return Status::Ok();
}

size_t PlaneWidth(DType dtype) {
  switch (dtype) {
    case DType::kF64:
    case DType::kI64:
    case DType::kU64:
    case DType::kComplex128:
      return 8;
    case DType::kF32:
    case DType::kI32:
    case DType::kU32:
    case DType::kComplex64:
      return 4;
    case DType::kF16:
    case DType::kBF16:
    case DType::kI16:
    case DType::kU16:
      return 2;
    default:
      return 0;
  }
}

CodecId AppendPayload(std::span<const uint8_t> raw, DType dtype, const CodecOptions& options,
                      std::string& out) {
  const size_t width = options.byte_planes ? PlaneWidth(dtype) : 0;
  if (width != 0 && raw.size() >= kMinCompressible * width) {
    if (AppendBytePlanes(raw, width, options, out)) return CodecId::kBytePlanes;
  } else if (CompressInto(raw, options, out)) {
    return CodecId::kZstd;
  }
  out.append(reinterpret_cast<const char*>(raw.data()), raw.size());
  return CodecId::kRaw;
}

std::string EncodeChunkValue(const Digest& name, std::span<const uint8_t> raw, DType dtype,
                             const CodecOptions& options, size_t& payload_size) {
  std::string value = Header(CodecId::kRaw, name, raw);
  const size_t header_size = value.size();
  value[0] = CodecByte(AppendPayload(raw, dtype, options, value));
  payload_size = value.size() - header_size;
  return value;
}

namespace {

// Codecs 3 and 5: `prefix` (what names the base), then the inner codec byte
// and the XOR of `raw` with `other` encoded by it.
std::string EncodeXorValue(CodecId codec, std::string_view prefix, const Digest& name,
                           std::span<const uint8_t> raw, std::span<const uint8_t> other,
                           DType dtype, const CodecOptions& options, size_t& payload_size) {
  thread_local std::vector<uint8_t> difference;
  difference.assign(raw.begin(), raw.end());
  XorInto(difference, other);
  std::string value = Header(codec, name, raw);
  const size_t header_size = value.size();
  value.append(prefix);
  value.push_back(0);
  const size_t inner_at = value.size() - 1;
  value[inner_at] = static_cast<char>(AppendPayload(difference, dtype, options, value));
  payload_size = value.size() - header_size;
  return value;
}

struct XorPayload {
  Digest base;
  CodecId inner = CodecId::kRaw;
  std::string_view inner_payload;
};

// The base digest at `base_at`, then the inner codec (0-2) and its payload.
Result<XorPayload> ParseXorPayload(std::string_view payload, size_t base_at, const char* what) {
  if (payload.size() < base_at + 33) {
    return Status::Corruption(std::string(what) + " chunk too short for its base");
  }
  XorPayload parsed;
  ASSIGN_OR_RETURN(parsed.base, Digest::FromView(payload.substr(base_at, 32)));
  parsed.inner = static_cast<CodecId>(static_cast<uint8_t>(payload[base_at + 32]));
  if (parsed.inner != CodecId::kRaw && parsed.inner != CodecId::kZstd &&
      parsed.inner != CodecId::kBytePlanes) {
    return Status::Corruption(std::string(what) + " chunk with inner codec " +
                              std::to_string(static_cast<int>(parsed.inner)));
  }
  parsed.inner_payload = payload.substr(base_at + 33);
  return parsed;
}

}  // namespace

std::string EncodeDeltaChunkValue(const Digest& name, std::span<const uint8_t> raw,
                                  const Digest& base, std::span<const uint8_t> base_raw,
                                  DType dtype, const CodecOptions& options, size_t& payload_size) {
  return EncodeXorValue(CodecId::kDelta, base.view(), name, raw, base_raw, dtype, options,
                        payload_size);
}

Result<DeltaPayload> ParseDeltaPayload(std::string_view payload) {
  ASSIGN_OR_RETURN(XorPayload parsed, ParseXorPayload(payload, 0, "delta"));
  return DeltaPayload{parsed.base, parsed.inner, parsed.inner_payload};
}

std::string EncodeDerivedChunkValue(const Digest& name, std::span<const uint8_t> raw,
                                    const Digest& base, const Transform& transform,
                                    std::span<const uint8_t> prediction, DType dtype,
                                    const CodecOptions& options, size_t& payload_size) {
  std::string prefix(1, static_cast<char>(transform.kind));
  if (HasParams(transform.kind)) PutLengthPrefixed(prefix, transform.EncodeParams());
  prefix.append(base.view());
  return EncodeXorValue(CodecId::kDerived, prefix, name, raw, prediction, dtype, options,
                        payload_size);
}

Result<DerivedPayload> ParseDerivedPayload(std::string_view payload) {
  if (payload.empty()) return Status::Corruption("derived chunk without its derivation");
  const auto kind = static_cast<Derivation>(static_cast<uint8_t>(payload[0]));
  std::string_view params;
  size_t base_at = 1;
  if (HasParams(kind)) {
    Decoder decoder(payload.substr(1), "derived chunk");
    RETURN_IF_ERROR(decoder.GetLengthPrefixed(params));
    base_at = payload.size() - decoder.remaining();
  }
  ASSIGN_OR_RETURN(Transform transform, Transform::Decode(kind, params));
  ASSIGN_OR_RETURN(XorPayload parsed, ParseXorPayload(payload, base_at, "derived"));
  return DerivedPayload{std::move(transform), parsed.base, parsed.inner, parsed.inner_payload};
}

std::string SealChunkValue(const Digest& name, uint64_t raw_size, std::string_view inner_value,
                           const SealingKey& key) {
  std::string value(1, static_cast<char>(CodecId::kSealed));
  PutVarint(value, raw_size);
  value += key.Seal(name, inner_value);
  return value;
}

void XorInto(std::span<uint8_t> out, std::span<const uint8_t> base) {
  // Word at a time: the compiler vectorises this loop.
  const size_t n = std::min(out.size(), base.size());
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t a, b;
    std::memcpy(&a, out.data() + i, 8);
    std::memcpy(&b, base.data() + i, 8);
    a ^= b;
    std::memcpy(out.data() + i, &a, 8);
  }
  for (; i < n; ++i) out[i] ^= base[i];
}

Result<ChunkValue> ParseChunkValue(std::string_view value) {
  Decoder decoder(value, "chunk");
  uint8_t codec = 0;
  ChunkValue parsed;
  RETURN_IF_ERROR(decoder.GetByte(codec));
  RETURN_IF_ERROR(decoder.GetVarint(parsed.raw_size));
  if (parsed.raw_size > (uint64_t{1} << 32))
    return Status::Corruption("chunk claims an absurd size");
  if (codec & kChecksumFlag) {
    uint64_t checksum = 0;
    RETURN_IF_ERROR(decoder.GetFixed64(checksum));
    parsed.checksum = checksum;
  }
  parsed.codec = static_cast<CodecId>(codec & ~kChecksumFlag);
  parsed.payload = value.substr(value.size() - decoder.remaining());
  return parsed;
}

Status DecodeChunk(CodecId codec, std::string_view payload, std::span<uint8_t> out) {
  switch (codec) {
    case CodecId::kRaw:
      if (payload.size() != out.size()) {
        return Status::Corruption("raw chunk has " + std::to_string(payload.size()) +
                                  " bytes, expected " + std::to_string(out.size()));
      }
      if (!out.empty())
        std::memcpy(out.data(), payload.data(), out.size());  // empty: data() may be null
      return Status::Ok();
    case CodecId::kZstd:
      return DecompressZstd(payload, out);
    case CodecId::kBytePlanes:
      return DecodeBytePlanes(payload, out);
    case CodecId::kDelta:
      return Status::Corruption("a delta chunk decodes only against its base");
    case CodecId::kSealed:
      return Status::Corruption("a sealed chunk decodes only with its key");
    case CodecId::kDerived:
      return Status::Corruption("a derived chunk decodes only against its base");
  }
  return Status::Corruption("unknown codec id " + std::to_string(static_cast<int>(codec)));
}

uint64_t ChunkChecksum(const Digest& name, std::span<const uint8_t> raw) {
  uint64_t seed = 0;
  std::memcpy(&seed, name.bytes.data(), sizeof seed);
  return XXH3_64bits_withSeed(raw.data(), raw.size(), le64toh(seed));
}

}  // namespace re2po
