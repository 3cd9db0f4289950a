#include "store/formats/pytorch.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "store/formats/segments.h"
#include "store/formats/torch_pickle.h"
#include "store/formats/wire/zip_reader.h"

namespace re2po {
namespace {

// The records whose storages live in a sibling folder: data.pkl -> data/<key>.
constexpr std::array<std::string_view, 2> kRecords = {"data", "constants"};

// "<top>/data.pkl" with the fewest folders in front (TorchScript archives
// can nest other pickles deeper).
Result<std::string> FindTopFolder(const std::vector<ZipEntry>& entries) {
  const ZipEntry* best = nullptr;
  size_t best_depth = 0;
  for (const ZipEntry& entry : entries) {
    const std::string_view name = entry.name;
    if (name != "data.pkl" && !name.ends_with("/data.pkl")) continue;
    const size_t depth = static_cast<size_t>(std::count(name.begin(), name.end(), '/'));
    if (best == nullptr || depth < best_depth) best = &entry, best_depth = depth;
  }
  if (best == nullptr) return Status::Corruption("pytorch: zip has no */data.pkl entry");
  return best->name.substr(0, best->name.size() - std::string_view("data.pkl").size());
}

// Reads `<top><record>.pkl`; a pickle this reader cannot follow leaves the
// storages unnamed rather than failing the file.
TorchStorageMap ReadRecordPickle(ByteSpan bytes, const std::vector<ZipEntry>& entries,
                                 const std::string& pkl_name) {
  for (const ZipEntry& entry : entries) {
    if (entry.name != pkl_name || !entry.IsStored()) continue;
    const ByteSpan pkl = bytes.subspan(entry.data_offset, entry.compressed_size);
    Result<Pickle> pickle = ReadPickle(pkl, 0);
    if (!pickle.ok()) return {};
    Result<TorchStorageMap> storages = CollectTorchStorages(*pickle);
    return storages.ok() ? std::move(storages).value() : TorchStorageMap{};
  }
  return {};
}

Segment StorageSegment(const ZipEntry& entry, std::string_view record, std::string_view key,
                       const TorchStorageMap& storages) {
  Segment segment;
  segment.offset = entry.data_offset;
  segment.length = entry.compressed_size;
  segment.kind = SegmentKind::kTensor;
  segment.name = std::string(record) + "/" + std::string(key);
  auto it = storages.find(std::string(key));
  if (it == storages.end()) return segment;
  const TorchStorageInfo& info = it->second;
  segment.native_dtype = info.storage_type;
  // A size that disagrees with the pickle means we misread it: keep the
  // bytes as a tensor but claim nothing about their type.
  const uint64_t itemsize = info.type.itemsize;
  if (itemsize == 0 || static_cast<uint64_t>(info.numel) > entry.compressed_size / itemsize ||
      static_cast<uint64_t>(info.numel) * itemsize != entry.compressed_size) {
    return segment;
  }
  segment.dtype = info.type.dtype;
  if (!info.tensor_name.empty()) segment.name = info.tensor_name;
  segment.shape = info.shape.empty() ? std::vector<int64_t>{info.numel} : info.shape;
  return segment;
}

void AddRecordSegments(ByteSpan bytes, const std::vector<ZipEntry>& entries, const std::string& top,
                       std::string_view record, std::vector<Segment>& segments) {
  const std::string folder = top + std::string(record) + "/";
  const TorchStorageMap storages =
      ReadRecordPickle(bytes, entries, top + std::string(record) + ".pkl");
  for (const ZipEntry& entry : entries) {
    if (!entry.name.starts_with(folder) || !entry.IsStored() || entry.compressed_size == 0) {
      continue;
    }
    const std::string_view key = std::string_view(entry.name).substr(folder.size());
    if (key.empty() || key.find('/') != std::string_view::npos) continue;
    segments.push_back(StorageSegment(entry, record, key, storages));
  }
}

bool HasPytorchExtension(std::string_view name) {
  for (std::string_view ext : {".pt", ".pth", ".bin", ".ckpt", ".pkl", ".tar"}) {
    if (name.ends_with(ext)) return true;
  }
  return false;
}

bool Sniff(std::string_view file_name, ByteSpan head) {
  if (LooksLikePytorchLegacy(head)) return true;
  if (!LooksLikeZip(head)) return false;
  const std::string_view text(reinterpret_cast<const char*>(head.data()), head.size());
  return HasPytorchExtension(file_name) || text.find("data.pkl") != std::string_view::npos;
}

}  // namespace

Result<ParsedFile> ParsePytorchZip(ByteSpan bytes) {
  Result<std::vector<ZipEntry>> entries = ReadZipDirectory(bytes);
  if (!entries.ok()) return entries.status().WithContext("pytorch");
  ASSIGN_OR_RETURN(const std::string top, FindTopFolder(*entries));
  ParsedFile parsed;
  parsed.format = "pytorch-zip";
  for (std::string_view record : kRecords) {
    AddRecordSegments(bytes, *entries, top, record, parsed.segments);
  }
  ASSIGN_OR_RETURN(parsed.segments,
                   SortedDisjointSegments("pytorch", std::move(parsed.segments), bytes.size()));
  return parsed;
}

Result<ParsedFile> ParsePytorch(ByteSpan bytes) {
  if (LooksLikeZip(bytes)) return ParsePytorchZip(bytes);
  if (LooksLikePytorchLegacy(bytes)) return ParsePytorchLegacy(bytes);
  return Status::Corruption("pytorch: neither a zip nor a legacy torch.save stream");
}

const FormatParser& PytorchFormat() {
  static const FormatParser parser{"pytorch", &Sniff, &ParsePytorch};
  return parser;
}

}  // namespace re2po
