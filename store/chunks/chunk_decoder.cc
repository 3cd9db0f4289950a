#include "store/chunks/chunk_decoder.h"

#include <memory>
#include <vector>

#include "store/chunks/chunk_pool.h"
#include "store/chunks/codec.h"

namespace re2po {
namespace {

using Buffer = std::shared_ptr<std::vector<uint8_t>>;

// The checksum catches damage at a fraction of a hash's cost; values
// written before checksums existed, and full checks, re-hash the whole
// chunk: SHA-256, or the keyed name for a sealed chunk.
Status CheckDecoded(const Digest& name, const ChunkValue& parsed, std::span<const uint8_t> bytes,
                    ChunkCheck check, const SealingKey* key) {
  if (parsed.checksum && *parsed.checksum != ChunkChecksum(name, bytes)) {
    return Status::Corruption("chunk content does not match its checksum");
  }
  if (check == ChunkCheck::kFull || !parsed.checksum) {
    if ((key ? key->NameOf(bytes) : Sha256Of(bytes)) != name) {
      return Status::Corruption("chunk content does not match its digest");
    }
  }
  return Status::Ok();
}

// Decodes the stored XOR into `bytes` and fetches the base it is against.
Result<ChunkBytes> DecodeXorAndFetchBase(CodecId inner, std::string_view inner_payload,
                                         const Digest& base, std::vector<uint8_t>& bytes,
                                         const BaseChunkFn& base_chunk) {
  RETURN_IF_ERROR(DecodeChunk(inner, inner_payload, bytes));
  Result<ChunkBytes> fetched = base_chunk(base);
  if (!fetched.ok()) return fetched.status().WithContext("its base");
  return fetched;
}

Status ApplyDelta(std::string_view payload, std::vector<uint8_t>& bytes,
                  const BaseChunkFn& base_chunk) {
  ASSIGN_OR_RETURN(DeltaPayload delta, ParseDeltaPayload(payload));
  ASSIGN_OR_RETURN(ChunkBytes base, DecodeXorAndFetchBase(delta.inner, delta.inner_payload,
                                                          delta.base, bytes, base_chunk));
  if (base->size() != bytes.size()) {
    return Status::Corruption("delta chunk of " + std::to_string(bytes.size()) +
                              " bytes against a base of " + std::to_string(base->size()));
  }
  XorInto(bytes, *base);
  return Status::Ok();
}

Status ApplyDerivation(std::string_view payload, std::vector<uint8_t>& bytes,
                       const BaseChunkFn& base_chunk) {
  ASSIGN_OR_RETURN(DerivedPayload derived, ParseDerivedPayload(payload));
  ASSIGN_OR_RETURN(ChunkBytes first, DecodeXorAndFetchBase(derived.inner, derived.inner_payload,
                                                           derived.base, bytes, base_chunk));
  // A base stored in several pieces (a permutation of a large tensor) is
  // read where each piece is cached, not joined.
  std::vector<ChunkBytes> held{std::move(first)};
  for (const Digest& piece : derived.transform.more_bases) {
    Result<ChunkBytes> fetched = base_chunk(piece);
    if (!fetched.ok()) return fetched.status().WithContext("a piece of its base");
    held.push_back(std::move(fetched).value());
  }
  std::vector<std::span<const uint8_t>> pieces;
  for (const ChunkBytes& piece : held) pieces.emplace_back(*piece);
  thread_local std::vector<uint8_t> prediction;
  prediction.resize(bytes.size());
  RETURN_IF_ERROR(PredictFromPieces(derived.transform, pieces, prediction));
  XorInto(bytes, prediction);
  return Status::Ok();
}

// Codecs 0-3 and 5 into a pooled buffer of the raw size.
Result<Buffer> DecodeUnsealed(const ChunkValue& parsed, bool base_of_delta,
                              const BaseChunkFn& base_chunk) {
  Buffer bytes = ChunkBufferPool::Instance().Take(parsed.raw_size);
  if (parsed.codec == CodecId::kDelta || parsed.codec == CodecId::kDerived) {
    if (base_of_delta) return Status::Corruption("the base of a delta chunk is a delta chunk");
    RETURN_IF_ERROR(parsed.codec == CodecId::kDelta
                        ? ApplyDelta(parsed.payload, *bytes, base_chunk)
                        : ApplyDerivation(parsed.payload, *bytes, base_chunk));
  } else {
    RETURN_IF_ERROR(DecodeChunk(parsed.codec, parsed.payload, *bytes));
  }
  return bytes;
}

Result<const SealingKey*> KeyFor(std::string_view sealed, const Keyring* keyring) {
  ASSIGN_OR_RETURN(std::string_view key_id, SealedKeyId(sealed));
  const SealingKey* key = keyring ? keyring->FindById(key_id) : nullptr;
  if (key) return key;
  return Status::PermissionDenied("the chunk is sealed by key id " + HexOf(key_id) + ", which " +
                                  (keyring ? "the keyring lacks" : "needs a keyring"));
}

Result<ChunkBytes> DecodeSealed(const Digest& name, const ChunkValue& outer, ChunkCheck check,
                                bool base_of_delta, const BaseChunkFn& base_chunk,
                                const Keyring* keyring) {
  ASSIGN_OR_RETURN(const SealingKey* key, KeyFor(outer.payload, keyring));
  // The buffer is taken, not borrowed: a sealed delta's base is opened on
  // this thread too, after the delta's own plaintext is decoded.
  thread_local std::string spare;
  std::string plaintext = std::move(spare);
  Result<std::string_view> opened = key->Open(name, outer.payload, plaintext);
  Result<ChunkBytes> decoded = [&]() -> Result<ChunkBytes> {
    RETURN_IF_ERROR(opened.status());
    ASSIGN_OR_RETURN(ChunkValue inner, ParseChunkValue(*opened));
    if (inner.codec == CodecId::kSealed || inner.raw_size != outer.raw_size) {
      return Status::Corruption("a sealed chunk holds a chunk of another kind or size");
    }
    ASSIGN_OR_RETURN(Buffer bytes, DecodeUnsealed(inner, base_of_delta, base_chunk));
    RETURN_IF_ERROR(CheckDecoded(name, inner, *bytes, check, key));
    return ChunkBytes(std::move(bytes));
  }();
  spare = std::move(plaintext);
  return decoded;
}

}  // namespace

Result<ChunkBytes> DecodeChunkValue(const Digest& name, std::string_view value, ChunkCheck check,
                                    bool base_of_delta, const BaseChunkFn& base_chunk,
                                    const Keyring* keyring) {
  ASSIGN_OR_RETURN(ChunkValue parsed, ParseChunkValue(value));
  if (parsed.codec == CodecId::kSealed) {
    return DecodeSealed(name, parsed, check, base_of_delta, base_chunk, keyring);
  }
  ASSIGN_OR_RETURN(Buffer bytes, DecodeUnsealed(parsed, base_of_delta, base_chunk));
  RETURN_IF_ERROR(CheckDecoded(name, parsed, *bytes, check, nullptr));
  return ChunkBytes(std::move(bytes));
}

}  // namespace re2po
