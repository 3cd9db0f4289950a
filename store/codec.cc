#include "store/codec.h"

#include <zstd.h>

#include <cstring>
#include <memory>
#include <vector>

#include "store/coding.h"

namespace re2po {
namespace {

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

}  // namespace

EncodedChunk EncodeChunk(std::span<const uint8_t> raw, DType /*dtype*/,
                         const CodecOptions& options) {
  EncodedChunk encoded;
  if (raw.size() >= 64) {
    std::string compressed(ZSTD_compressBound(raw.size()), '\0');
    size_t size = ZSTD_compressCCtx(ThreadCCtx(), compressed.data(), compressed.size(), raw.data(),
                                    raw.size(), options.zstd_level);
    double limit = static_cast<double>(raw.size()) * (1.0 - options.min_saving);
    if (!ZSTD_isError(size) && static_cast<double>(size) <= limit) {
      compressed.resize(size);
      encoded.codec = CodecId::kZstd;
      encoded.payload = std::move(compressed);
      return encoded;
    }
  }
  encoded.payload.assign(reinterpret_cast<const char*>(raw.data()), raw.size());
  return encoded;
}

std::string EncodeChunkValue(std::span<const uint8_t> raw, DType /*dtype*/,
                             const CodecOptions& options, size_t& payload_size) {
  // Reused per thread: a fresh zero-filled bound-sized buffer per chunk
  // cost more than the compression of small chunks.
  thread_local std::vector<char> scratch;
  std::string header(1, static_cast<char>(CodecId::kRaw));
  PutVarint(header, raw.size());
  if (raw.size() >= 64) {
    scratch.resize(ZSTD_compressBound(raw.size()));
    size_t size = ZSTD_compressCCtx(ThreadCCtx(), scratch.data(), scratch.size(), raw.data(),
                                    raw.size(), options.zstd_level);
    double limit = static_cast<double>(raw.size()) * (1.0 - options.min_saving);
    if (!ZSTD_isError(size) && static_cast<double>(size) <= limit) {
      header[0] = static_cast<char>(CodecId::kZstd);
      std::string value;
      value.reserve(header.size() + size);
      value.append(header).append(scratch.data(), size);
      payload_size = size;
      return value;
    }
  }
  std::string value;
  value.reserve(header.size() + raw.size());
  value.append(header).append(reinterpret_cast<const char*>(raw.data()), raw.size());
  payload_size = raw.size();
  return value;
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
    case CodecId::kZstd: {
      size_t size =
          ZSTD_decompressDCtx(ThreadDCtx(), out.data(), out.size(), payload.data(), payload.size());
      if (ZSTD_isError(size)) {
        return Status::Corruption(std::string("zstd: ") + ZSTD_getErrorName(size));
      }
      if (size != out.size()) return Status::Corruption("zstd chunk decoded to the wrong size");
      return Status::Ok();
    }
  }
  return Status::Corruption("unknown codec id " + std::to_string(static_cast<int>(codec)));
}

}  // namespace re2po
