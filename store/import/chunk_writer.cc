#include "store/import/chunk_writer.h"

#include <thread>

#include "store/base/coding.h"
#include "store/hooks/test_hooks.h"
#include "store/import/derivation_fit.h"

namespace re2po {
namespace {

// Bytes hashed and compressed between two database writes: large enough to
// keep every core busy, small enough to bound the memory of an import (one
// window's values being encoded, one window's batch being written, and the
// memtables: store/db/db.cc).
constexpr uint64_t kWindowBytes = 32ull << 20;

// A delta is kept only if it is this much smaller than the chunk stored
// whole: otherwise the second fetch each read makes is not worth it.
constexpr double kDeltaKeepRatio = 0.9;

}  // namespace

ChunkWriter::ChunkWriter(Db& db, CodecOptions codec, unsigned threads,
                         std::function<Status(uint64_t)> space_check, ChunkReader read_chunk,
                         const SealingKey* seal)
    : db_(db),
      codec_(codec),
      space_check_(std::move(space_check)),
      read_chunk_(std::move(read_chunk)),
      threads_(std::max(1u, threads)),
      seal_(seal),
      batch_(db, kWindowBytes + (kWindowBytes >> 3)) {}

bool ChunkWriter::SealedAlike(const Digest& base) const {
  Result<std::optional<std::string>> value = db_.Get(Cf::kChunks, base.view());
  if (!value.ok() || !value->has_value()) return false;
  Result<ChunkValue> parsed = ParseChunkValue(**value);
  if (!parsed.ok()) return false;
  if (parsed->codec != CodecId::kSealed) return seal_ == nullptr;
  Result<std::string_view> key_id = SealedKeyId(parsed->payload);
  return seal_ != nullptr && key_id.ok() && *key_id == seal_->id();
}

Result<ChunkBytes> ChunkWriter::ReadBase(const ChunkBase& base) const {
  ASSIGN_OR_RETURN(ChunkBytes first, read_chunk_(base.chunk));
  if (!base.derivation || base.derivation->more_bases.empty()) return first;
  auto joined = std::make_shared<std::vector<uint8_t>>(first->begin(), first->end());
  for (const Digest& piece : base.derivation->more_bases) {
    if (!SealedAlike(piece)) return Status::NotFound("a base piece sealed otherwise");
    ASSIGN_OR_RETURN(ChunkBytes bytes, read_chunk_(piece));
    joined->insert(joined->end(), bytes->begin(), bytes->end());
  }
  return ChunkBytes(std::move(joined));
}

void ChunkWriter::TryDelta(ByteSpan data, const PlannedChunk& chunk, const ChunkBase& base,
                           Work& work) {
  // A base that cannot be read now is no base: the chunk is stored whole.
  if (!read_chunk_ || !SealedAlike(base.chunk)) return;
  Result<ChunkBytes> base_bytes = ReadBase(base);
  if (!base_bytes.ok()) return;
  size_t payload_size = 0;
  std::string value;
  if (base.derivation) {
    Transform transform = *base.derivation;
    FitTransform(transform, **base_bytes, data);
    if (base.axes_to_try.size() > 1) ChooseAxes(transform, base.axes_to_try, **base_bytes, data);
    thread_local std::vector<uint8_t> prediction;
    prediction.resize(data.size());
    if (!Predict(transform, **base_bytes, prediction).ok()) return;
    value = EncodeDerivedChunkValue(work.digest, data, base.chunk, transform, prediction,
                                    chunk.dtype, codec_, payload_size);
  } else {
    if ((*base_bytes)->size() != data.size()) return;
    value = EncodeDeltaChunkValue(work.digest, data, base.chunk, **base_bytes, chunk.dtype, codec_,
                                  payload_size);
  }
  if (static_cast<double>(payload_size) >
      static_cast<double>(work.payload_size) * kDeltaKeepRatio) {
    return;
  }
  work.value = std::move(value);
  work.payload_size = payload_size;
  work.base = base.chunk;
  if (base.derivation) work.more_bases = base.derivation->more_bases;
  work.derived = base.derivation.has_value();
}

void ChunkWriter::Seal(size_t raw_size, Work& work) const {
  std::string header(1, '\0');  // what precedes the payload: codec byte, raw size
  PutVarint(header, raw_size);
  work.value = SealChunkValue(work.digest, raw_size, work.value, *seal_);
  work.payload_size = work.value.size() - header.size();
}

void ChunkWriter::ProcessRange(ByteSpan bytes, std::span<const PlannedChunk> chunks,
                               std::span<const std::optional<ChunkBase>> bases,
                               std::span<Work> work) {
  for (size_t i = 0; i < chunks.size(); ++i) {
    ByteSpan data = bytes.subspan(chunks[i].offset, chunks[i].length);
    work[i].digest = seal_ ? seal_->NameOf(data) : Sha256Of(data);
    auto known = db_.Contains(Cf::kChunkInfo, work[i].digest.view());
    work[i].known = known.ok() && *known;
    if (!work[i].known) {
      work[i].value =
          EncodeChunkValue(work[i].digest, data, chunks[i].dtype, codec_, work[i].payload_size);
      if (!bases.empty() && bases[i] && bases[i]->chunk != work[i].digest) {
        TryDelta(data, chunks[i], *bases[i], work[i]);
      }
      if (seal_) Seal(data.size(), work[i]);
    }
    CrashPointChunkBytes(data.size());
  }
}

void ChunkWriter::ProcessWindow(ByteSpan bytes, std::span<const PlannedChunk> window,
                                std::span<const std::optional<ChunkBase>> bases,
                                std::vector<Work>& work, uint64_t window_bytes) {
  work.assign(window.size(), Work{});
  unsigned threads = window_bytes >= (4u << 20) ? threads_ : 1;
  size_t per_thread = (window.size() + threads - 1) / threads;
  std::vector<std::jthread> workers;
  for (size_t start = per_thread; start < window.size(); start += per_thread) {
    size_t count = std::min(per_thread, window.size() - start);
    workers.emplace_back([&, start, count] {
      ProcessRange(bytes, window.subspan(start, count),
                   bases.empty() ? bases : bases.subspan(start, count),
                   std::span(work).subspan(start, count));
    });
  }
  size_t first = std::min(per_thread, window.size());
  ProcessRange(bytes, window.first(first), bases.empty() ? bases : bases.first(first),
               std::span(work).first(first));
}

void ChunkWriter::BatchWindow(std::span<const PlannedChunk> chunks, std::span<Work> work) {
  batch_.Clear();
  for (size_t i = 0; i < chunks.size(); ++i) {
    ++stats_.chunks;
    if (work[i].known || !written_.insert(work[i].digest).second) continue;
    ChunkInfo info{static_cast<uint8_t>(chunks[i].dtype), chunks[i].length, work[i].payload_size,
                   work[i].base, work[i].more_bases};
    batch_.Put(Cf::kChunks, work[i].digest.view(), work[i].value);
    batch_.Put(Cf::kChunkInfo, work[i].digest.view(), info.Encode());
    ++stats_.new_chunks;
    stats_.new_raw_bytes += chunks[i].length;
    stats_.new_stored_bytes += work[i].payload_size;
    if (work[i].base) {
      ++stats_.delta_chunks;
      stats_.delta_raw_bytes += chunks[i].length;
    }
    if (work[i].derived) {
      ++stats_.derived_chunks;
      stats_.derived_raw_bytes += chunks[i].length;
    }
    std::string().swap(work[i].value);  // the batch holds a copy now
  }
}

Result<Recipe> ChunkWriter::StoreFile(ByteSpan bytes, const std::vector<PlannedChunk>& chunks,
                                      std::span<const std::optional<ChunkBase>> bases,
                                      const std::function<void(uint64_t)>& on_bytes) {
  Recipe recipe;
  recipe.extents.reserve(chunks.size());
  // One window is written while the next is hashed and compressed.
  std::future<Status> pending;
  auto wait_pending = [&pending]() -> Status {
    return pending.valid() ? pending.get() : Status::Ok();
  };
  std::vector<Work> work;
  for (size_t begin = 0; begin < chunks.size();) {
    size_t end = begin;
    uint64_t window_bytes = 0;
    while (end < chunks.size() && (window_bytes < kWindowBytes || end == begin)) {
      window_bytes += chunks[end++].length;
    }
    std::span<const PlannedChunk> window(chunks.data() + begin, end - begin);
    ProcessWindow(bytes, window, bases.empty() ? bases : bases.subspan(begin, end - begin), work,
                  window_bytes);
    for (size_t i = 0; i < window.size(); ++i) {
      recipe.extents.push_back({work[i].digest, window[i].offset + window[i].length});
    }
    RETURN_IF_ERROR(wait_pending());
    BatchWindow(window, work);
    if (batch_.Count() > 0 && space_check_) {
      Status space = space_check_(batch_.DataSize());
      if (!space.ok()) {
        RETURN_IF_ERROR(wait_pending());
        return space;
      }
    }
    if (batch_.Count() > 0) {
      pending =
          std::async(std::launch::async, [this] { return db_.Write(batch_, /*durable=*/false); });
    }
    if (on_bytes) on_bytes(window_bytes);
    begin = end;
  }
  RETURN_IF_ERROR(wait_pending());
  return recipe;
}

std::vector<TensorRecord> TensorRecords(const std::vector<Segment>& segments,
                                        const std::vector<PlannedChunk>& chunks,
                                        const Recipe& recipe) {
  std::vector<TensorRecord> tensors;
  size_t chunk = 0;
  for (const Segment& segment : segments) {
    if (segment.kind != SegmentKind::kTensor) continue;
    while (chunk < chunks.size() && chunks[chunk].offset < segment.offset) ++chunk;
    Sha256 hasher;
    for (size_t c = chunk; c < chunks.size() && chunks[c].offset < segment.end(); ++c) {
      hasher.Update(recipe.extents[c].chunk.view());
    }
    tensors.push_back({segment.name, static_cast<uint8_t>(segment.dtype), segment.native_dtype,
                       segment.shape, segment.offset, segment.length, hasher.Finish()});
  }
  return tensors;
}

}  // namespace re2po
