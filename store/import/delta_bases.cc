#include "store/import/delta_bases.h"

#include <algorithm>

#include "store/db/keys.h"

namespace re2po {

void DeltaBases::IndexTensors(const std::vector<TensorRecord>& tensors, const Digest& file,
                              WriteBatch& batch) {
  for (const TensorRecord& tensor : tensors) {
    if (tensor.length < 2 * kMinDerivedPiece) continue;
    batch.Put(Cf::kCatalog, keys::TensorName(tensor.dtype, tensor.shape, tensor.name), file.view());
  }
}

const DeltaBases::StoredFile* DeltaBases::Load(const Digest& file) {
  auto [it, inserted] = files_.try_emplace(file);
  if (inserted) {
    // A file gc has removed since its entry was written is simply no base.
    Result<std::optional<std::string>> info = db_.Get(Cf::kFileInfo, file.view());
    Result<std::optional<std::string>> recipe = db_.Get(Cf::kRecipes, file.view());
    if (info.ok() && *info && recipe.ok() && *recipe) {
      Result<FileInfo> decoded_info = FileInfo::Decode(**info);
      Result<Recipe> decoded_recipe = Recipe::Decode(**recipe);
      if (decoded_info.ok() && decoded_recipe.ok()) {
        it->second = StoredFile{std::move(decoded_info).value(), std::move(decoded_recipe).value()};
      }
    }
  }
  return it->second ? &*it->second : nullptr;
}

std::optional<Digest> DeltaBases::NonDelta(const Digest& chunk) {
  Result<std::optional<std::string>> value = db_.Get(Cf::kChunkInfo, chunk.view());
  if (!value.ok() || !*value) return std::nullopt;
  Result<ChunkInfo> info = ChunkInfo::Decode(**value);
  if (!info.ok()) return std::nullopt;
  return info->base ? *info->base : chunk;
}

std::optional<DeltaBases::Match> DeltaBases::MatchPieces(const Segment& tensor,
                                                         const TensorRecord& old,
                                                         const Recipe& recipe,
                                                         std::optional<Derivation> derivation) {
  const uint64_t ratio = derivation ? BaseBytesPerDerivedByte(*derivation) : 1;
  size_t extent = recipe.ExtentAt(old.offset);
  if (recipe.StartOf(extent) != old.offset) return std::nullopt;
  Match match;
  for (uint64_t done = 0; done < old.length; ++extent) {
    if (extent >= recipe.extents.size()) return std::nullopt;
    const uint64_t length = recipe.extents[extent].end - recipe.StartOf(extent);
    // Whole fp32 elements for a cast, and nothing past the old tensor's end.
    if ((derivation && length % 4 != 0) || done + length > old.length) return std::nullopt;
    const uint64_t piece = length / ratio;
    match.pieces.push_back({tensor.offset + done / ratio, piece, tensor.dtype});
    std::optional<Digest> base = piece < (derivation ? kMinDerivedPiece : kMinDeltaPiece)
                                     ? std::nullopt
                                     : NonDelta(recipe.extents[extent].chunk);
    match.bases.push_back(base ? std::optional<ChunkBase>(ChunkBase{*base, derivation})
                               : std::nullopt);
    done += length;
  }
  return match;
}

std::optional<DeltaBases::Match> DeltaBases::MatchStored(const Segment& tensor, DType base_dtype,
                                                         std::optional<Derivation> derivation) {
  const uint8_t dtype = static_cast<uint8_t>(base_dtype);
  Result<std::optional<std::string>> entry =
      db_.Get(Cf::kCatalog, keys::TensorName(dtype, tensor.shape, tensor.name));
  if (!entry.ok() || !*entry) return std::nullopt;
  Result<Digest> file = Digest::FromView(**entry);
  const StoredFile* stored = file.ok() ? Load(*file) : nullptr;
  if (stored == nullptr) return std::nullopt;
  const uint64_t ratio = derivation ? BaseBytesPerDerivedByte(*derivation) : 1;
  for (const TensorRecord& old : stored->info.tensors) {
    if (old.name != tensor.name || old.dtype != dtype || old.shape != tensor.shape ||
        old.length != ratio * tensor.length || old.offset + old.length > stored->recipe.size()) {
      continue;
    }
    std::optional<Match> match = MatchPieces(tensor, old, stored->recipe, derivation);
    if (!match || std::none_of(match->bases.begin(), match->bases.end(),
                               [](const auto& base) { return base.has_value(); })) {
      return std::nullopt;
    }
    offered_files_.insert(*file);
    return match;
  }
  return std::nullopt;
}

std::vector<std::optional<ChunkBase>> DeltaBases::ForFile(const std::vector<Segment>& segments,
                                                          std::vector<PlannedChunk>& chunks) {
  std::vector<PlannedChunk> cut;
  std::vector<std::optional<ChunkBase>> bases;
  cut.reserve(chunks.size());
  bases.reserve(chunks.size());
  size_t chunk = 0;
  auto keep_until = [&](uint64_t offset) {
    for (; chunk < chunks.size() && chunks[chunk].offset < offset; ++chunk) {
      cut.push_back(chunks[chunk]);
      bases.emplace_back();
    }
  };
  for (const Segment& segment : segments) {
    keep_until(segment.offset);
    if (segment.kind != SegmentKind::kTensor || segment.length < kMinDerivedPiece) continue;
    std::optional<Match> match = MatchStored(segment, segment.dtype, std::nullopt);
    if (!match) {
      if (std::optional<Derivation> cast = CastBetween(DType::kF32, segment.dtype)) {
        match = MatchStored(segment, DType::kF32, cast);
      }
    }
    if (!match) continue;
    while (chunk < chunks.size() && chunks[chunk].offset < segment.end()) ++chunk;
    cut.insert(cut.end(), match->pieces.begin(), match->pieces.end());
    bases.insert(bases.end(), match->bases.begin(), match->bases.end());
  }
  keep_until(UINT64_MAX);
  chunks = std::move(cut);
  return bases;
}

}  // namespace re2po
