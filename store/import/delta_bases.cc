#include "store/import/delta_bases.h"

#include <algorithm>

#include "store/db/keys.h"

namespace re2po {

void DeltaBases::IndexTensors(const std::vector<TensorRecord>& tensors, const Digest& file,
                              WriteBatch& batch) {
  for (const TensorRecord& tensor : tensors) {
    if (tensor.length < kMinDeltaPiece) continue;
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

std::vector<std::optional<Digest>> DeltaBases::BasesOf(const Segment& tensor,
                                                       std::span<const PlannedChunk> pieces) {
  const uint8_t dtype = static_cast<uint8_t>(tensor.dtype);
  Result<std::optional<std::string>> entry =
      db_.Get(Cf::kCatalog, keys::TensorName(dtype, tensor.shape, tensor.name));
  if (!entry.ok() || !*entry) return {};
  Result<Digest> file = Digest::FromView(**entry);
  const StoredFile* stored = file.ok() ? Load(*file) : nullptr;
  if (stored == nullptr) return {};
  for (const TensorRecord& old : stored->info.tensors) {
    if (old.name != tensor.name || old.dtype != dtype || old.shape != tensor.shape ||
        old.length != tensor.length || old.offset + old.length > stored->recipe.size()) {
      continue;
    }
    // Both files cut the tensor into pieces from its first byte; use the old
    // pieces only if they line up with the new ones exactly.
    const Recipe& recipe = stored->recipe;
    std::vector<std::optional<Digest>> bases;
    size_t extent = recipe.ExtentAt(old.offset);
    for (const PlannedChunk& piece : pieces) {
      if (extent >= recipe.extents.size() ||
          recipe.StartOf(extent) - old.offset != piece.offset - tensor.offset ||
          recipe.extents[extent].end - recipe.StartOf(extent) != piece.length) {
        return {};
      }
      bases.push_back(piece.length < kMinDeltaPiece ? std::nullopt
                                                    : NonDelta(recipe.extents[extent].chunk));
      ++extent;
    }
    if (std::any_of(bases.begin(), bases.end(),
                    [](const auto& base) { return base.has_value(); })) {
      offered_files_.insert(*file);
    }
    return bases;
  }
  return {};
}

std::vector<std::optional<Digest>> DeltaBases::ForFile(const std::vector<Segment>& segments,
                                                       const std::vector<PlannedChunk>& chunks) {
  std::vector<std::optional<Digest>> bases(chunks.size());
  size_t chunk = 0;
  for (const Segment& segment : segments) {
    while (chunk < chunks.size() && chunks[chunk].offset < segment.offset) ++chunk;
    size_t end = chunk;
    while (end < chunks.size() && chunks[end].offset < segment.end()) ++end;
    if (segment.kind != SegmentKind::kTensor || segment.length < kMinDeltaPiece) continue;
    std::vector<std::optional<Digest>> found =
        BasesOf(segment, std::span(chunks).subspan(chunk, end - chunk));
    for (size_t i = 0; i < found.size(); ++i) bases[chunk + i] = std::move(found[i]);
  }
  return bases;
}

}  // namespace re2po
