#include "store/import/delta_bases.h"

#include <algorithm>

#include "store/db/keys.h"
#include "store/import/derivation_fit.h"
#include "store/import/tensor_sketch.h"

namespace re2po {
namespace {

ByteSpan TensorBytes(ByteSpan file, uint64_t offset, uint64_t length) {
  if (offset > file.size() || length > file.size() - offset) return {};
  return file.subspan(offset, length);
}

std::optional<Derivation> QuantizationTo(DType dtype) {
  if (dtype == DType::kI8) return Derivation::kQuantizeF32ToI8;
  if (dtype == DType::kU8) return Derivation::kQuantizeF32ToU8;
  return std::nullopt;
}

// The names a tensor's base may have: its own; without the prefix a
// wrapper adds ("module." of DataParallel, "_orig_mod." of torch.compile);
// and the name its float tensor has where a converter renames it: torch.ao's
// dynamic quantization keeps a Linear's weight and bias as
// "<layer>._packed_params._packed_params.0" and ".1".
std::vector<std::string> BaseNamesOf(std::string_view name) {
  std::vector<std::string> names{std::string(name)};
  for (std::string_view wrapper : {"module.", "_orig_mod."}) {
    if (name.starts_with(wrapper) && name.size() > wrapper.size()) {
      names.emplace_back(name.substr(wrapper.size()));
    }
  }
  constexpr std::string_view kPacked = "._packed_params._packed_params.";
  const size_t packed = name.rfind(kPacked);
  if (packed != std::string_view::npos && packed + kPacked.size() + 1 == name.size()) {
    const char field = name.back();
    if (field == '0' || field == '1') {
      names.push_back(std::string(name.substr(0, packed)) + (field == '0' ? ".weight" : ".bias"));
    }
  }
  return names;
}

uint64_t Elements(const std::vector<int64_t>& shape) {
  uint64_t elements = 1;
  for (int64_t dim : shape) elements *= static_cast<uint64_t>(std::max<int64_t>(dim, 0));
  return elements;
}

}  // namespace

void DeltaBases::IndexTensors(ByteSpan bytes, const std::vector<TensorRecord>& tensors,
                              const Digest& file, WriteBatch& batch) {
  for (const TensorRecord& tensor : tensors) {
    if (tensor.length < 2 * kMinDerivedPiece) continue;
    batch.Put(Cf::kCatalog, keys::TensorName(tensor.dtype, tensor.shape, tensor.name), file.view());
    std::optional<std::string> sketch =
        TensorSketchOf(static_cast<DType>(tensor.dtype), tensor.shape,
                       TensorBytes(bytes, tensor.offset, tensor.length));
    if (sketch) {
      batch.Put(Cf::kCatalog, keys::TensorSketch(tensor.dtype, tensor.shape, *sketch),
                std::string(file.view()) + tensor.name);
    }
    std::optional<std::string> unordered =
        PermutationSketchOf(static_cast<DType>(tensor.dtype), tensor.shape,
                            TensorBytes(bytes, tensor.offset, tensor.length), kMaxPermutedTensor);
    if (unordered) {
      batch.Put(Cf::kCatalog, keys::TensorPermutation(tensor.dtype, *unordered),
                std::string(file.view()) + tensor.name);
    }
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

std::optional<DeltaBases::Match> DeltaBases::MatchPieces(
    const Segment& tensor, const TensorRecord& old, const Recipe& recipe,
    const std::optional<Transform>& transform) {
  // A delta works on bytes; a derivation on whole elements.
  const ElementSizes sizes = transform ? ElementSizesOf(transform->kind) : ElementSizes{1, 1};
  const uint64_t min_piece = transform ? kMinDerivedPiece : kMinDeltaPiece;
  // An upcast doubles a base piece: it is stored as pieces of the usual size.
  const uint64_t most_elements = std::max<uint64_t>(1, kTensorPieceSize / sizes.derived);
  size_t extent = recipe.ExtentAt(old.offset);
  if (recipe.StartOf(extent) != old.offset) return std::nullopt;
  Match match;
  for (uint64_t done = 0; done < old.length; ++extent) {
    if (extent >= recipe.extents.size()) return std::nullopt;
    const uint64_t length = recipe.extents[extent].end - recipe.StartOf(extent);
    if (length % sizes.base != 0 || done + length > old.length) return std::nullopt;
    const uint64_t first_element = done / sizes.base;
    const uint64_t elements = length / sizes.base;
    const std::optional<Digest> base_chunk = NonDelta(recipe.extents[extent].chunk);
    for (uint64_t at = 0; at < elements; at += most_elements) {
      const uint64_t piece = std::min(most_elements, elements - at) * sizes.derived;
      match.pieces.push_back(
          {tensor.offset + (first_element + at) * sizes.derived, piece, tensor.dtype});
      if (piece < min_piece || !base_chunk) {
        match.bases.emplace_back();
        continue;
      }
      std::optional<Transform> piece_transform = transform;
      if (piece_transform) {
        piece_transform->base_element = at;
        if (piece_transform->channel_elements != 0) {
          piece_transform->phase = (first_element + at) % piece_transform->channel_elements;
        }
      }
      match.bases.push_back(ChunkBase{*base_chunk, std::move(piece_transform), {}});
    }
    done += length;
  }
  return match;
}

std::optional<DeltaBases::Match> DeltaBases::MatchInFile(
    const Segment& tensor, const Digest& file, std::string_view name, DType base_dtype,
    const std::optional<Transform>& transform) {
  const StoredFile* stored = Load(file);
  if (stored == nullptr) return std::nullopt;
  const ElementSizes sizes = transform ? ElementSizesOf(transform->kind) : ElementSizes{1, 1};
  const uint8_t dtype = static_cast<uint8_t>(base_dtype);
  for (const TensorRecord& old : stored->info.tensors) {
    if (old.name != name || old.dtype != dtype || old.shape != tensor.shape ||
        old.length * sizes.derived != tensor.length * sizes.base ||
        old.offset + old.length > stored->recipe.size()) {
      continue;
    }
    std::optional<Match> match = MatchPieces(tensor, old, stored->recipe, transform);
    if (!match || std::none_of(match->bases.begin(), match->bases.end(),
                               [](const auto& base) { return base.has_value(); })) {
      return std::nullopt;
    }
    match->file = file;
    return match;
  }
  return std::nullopt;
}

std::optional<DeltaBases::Match> DeltaBases::ByName(const Segment& tensor, DType base_dtype,
                                                    std::optional<Transform> transform) {
  for (const std::string& name : BaseNamesOf(tensor.name)) {
    Result<std::optional<std::string>> entry = db_.Get(
        Cf::kCatalog, keys::TensorName(static_cast<uint8_t>(base_dtype), tensor.shape, name));
    if (!entry.ok() || !*entry) continue;
    Result<Digest> file = Digest::FromView(**entry);
    if (!file.ok()) continue;
    if (std::optional<Match> match = MatchInFile(tensor, *file, name, base_dtype, transform)) {
      return match;
    }
  }
  return std::nullopt;
}

std::optional<DeltaBases::Match> DeltaBases::BySketch(ByteSpan bytes, const Segment& tensor,
                                                      Transform transform) {
  std::optional<std::string> sketch =
      TensorSketchOf(tensor.dtype, tensor.shape, TensorBytes(bytes, tensor.offset, tensor.length));
  if (!sketch) return std::nullopt;
  Result<std::optional<std::string>> entry = db_.Get(
      Cf::kCatalog, keys::TensorSketch(static_cast<uint8_t>(DType::kF32), tensor.shape, *sketch));
  if (!entry.ok() || !*entry || (*entry)->size() < 32) return std::nullopt;
  Result<Digest> file = Digest::FromView(std::string_view(**entry).substr(0, 32));
  if (!file.ok()) return std::nullopt;
  if (transform.kind == Derivation::kScalePerChannel) {
    transform.channel_elements = Elements(tensor.shape) / uint64_t(tensor.shape[0]);
  }
  return MatchInFile(tensor, *file, std::string_view(**entry).substr(32), DType::kF32, transform);
}

namespace {

// Every way to lay `base` out as `derived`: axes[i] is the base axis that
// derived axis i runs along.
std::vector<std::vector<uint8_t>> AxesBetween(const std::vector<int64_t>& base,
                                              const std::vector<int64_t>& derived) {
  std::vector<std::vector<uint8_t>> found;
  std::vector<uint8_t> axes(base.size());
  for (size_t i = 0; i < axes.size(); ++i) axes[i] = static_cast<uint8_t>(i);
  if (base.size() != derived.size() || base.size() > 6) return found;
  do {
    bool fits = true;
    for (size_t i = 0; i < axes.size() && fits; ++i) fits = base[axes[i]] == derived[i];
    if (fits) found.push_back(axes);
  } while (std::next_permutation(axes.begin(), axes.end()));
  return found;
}

}  // namespace

std::optional<std::vector<Digest>> DeltaBases::WholeTensorChunks(const StoredFile& stored,
                                                                 const TensorRecord& old) {
  std::vector<Digest> pieces;
  size_t extent = stored.recipe.ExtentAt(old.offset);
  if (stored.recipe.StartOf(extent) != old.offset) return std::nullopt;
  for (; extent < stored.recipe.extents.size() &&
         stored.recipe.StartOf(extent) < old.offset + old.length;
       ++extent) {
    std::optional<Digest> piece = NonDelta(stored.recipe.extents[extent].chunk);
    if (!piece) return std::nullopt;
    pieces.push_back(*piece);
  }
  if (extent == 0 || stored.recipe.extents[extent - 1].end != old.offset + old.length) {
    return std::nullopt;
  }
  return pieces;
}

std::optional<DeltaBases::Match> DeltaBases::ByPermutation(ByteSpan bytes, const Segment& tensor) {
  std::optional<std::string> sketch =
      PermutationSketchOf(tensor.dtype, tensor.shape,
                          TensorBytes(bytes, tensor.offset, tensor.length), kMaxPermutedTensor);
  if (!sketch) return std::nullopt;
  Result<std::optional<std::string>> entry =
      db_.Get(Cf::kCatalog, keys::TensorPermutation(static_cast<uint8_t>(tensor.dtype), *sketch));
  if (!entry.ok() || !*entry || (*entry)->size() < 32) return std::nullopt;
  Result<Digest> file = Digest::FromView(std::string_view(**entry).substr(0, 32));
  const StoredFile* stored = file.ok() ? Load(*file) : nullptr;
  if (stored == nullptr) return std::nullopt;
  const std::string_view name = std::string_view(**entry).substr(32);
  for (const TensorRecord& old : stored->info.tensors) {
    if (old.name != name || old.dtype != static_cast<uint8_t>(DType::kF32) ||
        old.length != tensor.length || old.offset + old.length > stored->recipe.size()) {
      continue;
    }
    // Every piece of a permuted tensor draws on all of its base.
    std::optional<std::vector<Digest>> base = WholeTensorChunks(*stored, old);
    std::vector<std::vector<uint8_t>> axes = AxesBetween(old.shape, tensor.shape);
    if (axes.empty() || !base) return std::nullopt;
    Transform permuted(base->size() == 1 ? Derivation::kPermute32 : Derivation::kPermute32Pieces);
    for (int64_t dim : old.shape) permuted.base_dims.push_back(static_cast<uint64_t>(dim));
    permuted.axes = axes.front();
    permuted.more_bases.assign(base->begin() + 1, base->end());
    Match match;
    match.file = *file;
    for (uint64_t at = 0; at < tensor.length; at += kTensorPieceSize) {
      const uint64_t length = std::min(kTensorPieceSize, tensor.length - at);
      match.pieces.push_back({tensor.offset + at, length, tensor.dtype});
      permuted.base_element = at / 4;
      match.bases.push_back(ChunkBase{base->front(), permuted, axes});
    }
    return match;
  }
  return std::nullopt;
}

std::optional<DeltaBases::Match> DeltaBases::ByNameInAnotherDtype(const Segment& tensor) {
  for (DType from : {DType::kF32, DType::kF16, DType::kBF16}) {
    if (std::optional<Derivation> cast = CastBetween(from, tensor.dtype)) {
      if (std::optional<Match> match = ByName(tensor, from, Transform(*cast))) return match;
    }
  }
  if (std::optional<Derivation> quantization = QuantizationTo(tensor.dtype)) {
    // Channels (axis 0) let the fit choose a scale per channel.
    Transform transform(*quantization);
    if (tensor.shape.size() >= 2 && tensor.shape[0] > 0) {
      transform.channel_elements = Elements(tensor.shape) / uint64_t(tensor.shape[0]);
    }
    return ByName(tensor, DType::kF32, transform);
  }
  return std::nullopt;
}

double DeltaBases::WrongShare(ByteSpan bytes, const Match& match) {
  for (size_t i = 0; i < match.pieces.size(); ++i) {
    if (!match.bases[i]) continue;
    const PlannedChunk& piece = match.pieces[i];
    const ChunkBase& base = *match.bases[i];
    if (!read_chunk_ || piece.offset > bytes.size() || piece.length > bytes.size() - piece.offset) {
      return 1.0;
    }
    Result<ChunkBytes> base_bytes = read_chunk_(base.chunk);
    if (!base_bytes.ok()) return 1.0;
    const ByteSpan data = bytes.subspan(piece.offset, piece.length);
    std::vector<uint8_t> prediction(data.size());
    if (base.derivation) {
      Transform transform = *base.derivation;
      FitTransform(transform, **base_bytes, data);
      if (!Predict(transform, **base_bytes, prediction).ok()) return 1.0;
    } else if ((*base_bytes)->size() == data.size()) {
      prediction.assign((*base_bytes)->begin(), (*base_bytes)->end());
    } else {
      return 1.0;
    }
    uint64_t wrong = 0;
    for (size_t k = 0; k < data.size(); ++k) wrong += prediction[k] != data[k];
    return static_cast<double>(wrong) / static_cast<double>(std::max<size_t>(1, data.size()));
  }
  return 1.0;
}

std::optional<DeltaBases::Match> DeltaBases::FindBase(ByteSpan bytes, const Segment& tensor) {
  std::optional<Match> same = ByName(tensor, tensor.dtype, std::nullopt);
  std::optional<Match> derived = ByNameInAnotherDtype(tensor);
  // Both: an fp16 copy of an fp32 model, and an fp16 copy of another model
  // whose tensor has the same name and shape (the classifier of two
  // backbones). The first piece of each tells which the tensor came from.
  if (same && derived)
    return WrongShare(bytes, *derived) < WrongShare(bytes, *same) ? derived : same;
  if (same) return same;
  if (derived) return derived;
  if (std::optional<Derivation> cast = CastBetween(DType::kF32, tensor.dtype)) {
    return BySketch(bytes, tensor, Transform(*cast));
  }
  if (tensor.dtype != DType::kF32) return std::nullopt;
  if (std::optional<Match> match =
          BySketch(bytes, tensor, Transform(Derivation::kScalePerChannel))) {
    return match;
  }
  return ByPermutation(bytes, tensor);
}

std::vector<std::optional<ChunkBase>> DeltaBases::ForFile(ByteSpan bytes,
                                                          const std::vector<Segment>& segments,
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
    std::optional<Match> match = FindBase(bytes, segment);
    if (!match) continue;
    offered_files_.insert(match->file);
    while (chunk < chunks.size() && chunks[chunk].offset < segment.end()) ++chunk;
    cut.insert(cut.end(), match->pieces.begin(), match->pieces.end());
    bases.insert(bases.end(), match->bases.begin(), match->bases.end());
  }
  keep_until(UINT64_MAX);
  chunks = std::move(cut);
  return bases;
}

}  // namespace re2po
