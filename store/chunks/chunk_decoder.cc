#include "store/chunks/chunk_decoder.h"

#include <memory>
#include <vector>

#include "store/chunks/chunk_pool.h"
#include "store/chunks/codec.h"

namespace re2po {
namespace {

// The checksum catches damage at a fraction of SHA-256's cost; values
// written before checksums existed, and full checks, re-hash the whole chunk.
Status CheckDecoded(const Digest& name, const ChunkValue& parsed, std::span<const uint8_t> bytes,
                    ChunkCheck check) {
  if (parsed.checksum && *parsed.checksum != ChunkChecksum(name, bytes)) {
    return Status::Corruption("chunk content does not match its checksum");
  }
  if ((check == ChunkCheck::kFull || !parsed.checksum) && Sha256Of(bytes) != name) {
    return Status::Corruption("chunk content does not match its digest");
  }
  return Status::Ok();
}

Status ApplyDelta(std::string_view payload, std::vector<uint8_t>& bytes,
                  const BaseChunkFn& base_chunk) {
  ASSIGN_OR_RETURN(DeltaPayload delta, ParseDeltaPayload(payload));
  RETURN_IF_ERROR(DecodeChunk(delta.inner, delta.inner_payload, bytes));
  Result<ChunkBytes> base = base_chunk(delta.base);
  if (!base.ok()) return base.status().WithContext("its base");
  if ((*base)->size() != bytes.size()) {
    return Status::Corruption("delta chunk of " + std::to_string(bytes.size()) +
                              " bytes against a base of " + std::to_string((*base)->size()));
  }
  XorInto(bytes, **base);
  return Status::Ok();
}

}  // namespace

Result<ChunkBytes> DecodeChunkValue(const Digest& name, std::string_view value, ChunkCheck check,
                                    bool base_of_delta, const BaseChunkFn& base_chunk) {
  ASSIGN_OR_RETURN(ChunkValue parsed, ParseChunkValue(value));
  std::shared_ptr<std::vector<uint8_t>> bytes = ChunkBufferPool::Instance().Take(parsed.raw_size);
  if (parsed.codec != CodecId::kDelta) {
    RETURN_IF_ERROR(DecodeChunk(parsed.codec, parsed.payload, *bytes));
  } else {
    if (base_of_delta) return Status::Corruption("the base of a delta chunk is a delta chunk");
    RETURN_IF_ERROR(ApplyDelta(parsed.payload, *bytes, base_chunk));
  }
  RETURN_IF_ERROR(CheckDecoded(name, parsed, *bytes, check));
  return ChunkBytes(std::move(bytes));
}

}  // namespace re2po
