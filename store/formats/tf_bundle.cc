#include "store/formats/tf_bundle.h"

#include <cstdio>
#include <map>

#include "store/formats/segments.h"
#include "store/formats/tf_bundle_entry.h"
#include "store/formats/wire/tf_table.h"

namespace re2po {
namespace {

constexpr int32_t kMaxShards = 1 << 16;

Status CheckEntry(const TfBundleEntry& entry, int32_t num_shards) {
  if (entry.sliced) return Status::Ok();
  if (entry.shard_id < 0 || entry.shard_id >= num_shards) {
    return Status::Corruption("tf bundle: '" + entry.name + "' is in shard " +
                              std::to_string(entry.shard_id) + " of " + std::to_string(num_shards));
  }
  if (entry.offset > INT64_MAX || entry.size > INT64_MAX - entry.offset) {
    return Status::Corruption("tf bundle: '" + entry.name + "' has an absurd offset or size");
  }
  return Status::Ok();
}

std::string_view BaseName(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// Slice keys are binary (OrderedCode); print them as hex so names stay text.
std::string DisplayName(const std::string& key) {
  if (key.empty() || key[0] != '\0') return key;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name = "slice:";
  for (unsigned char c : key) name += {kHex[c >> 4], kHex[c & 15]};
  return name;
}

Segment EntrySegment(const TfBundleEntry& entry) {
  Segment segment;
  segment.offset = entry.offset;
  segment.length = entry.size;
  segment.kind = SegmentKind::kTensor;
  segment.name = DisplayName(entry.name);
  segment.dtype = TfDTypeToDType(entry.dtype);
  segment.native_dtype = std::string(TfDTypeName(entry.dtype));
  segment.shape = entry.shape;
  return segment;
}

bool Sniff(std::string_view file_name, ByteSpan head) {
  (void)head;  // the magic is at the end; ParseTfBundle checks it
  return file_name.ends_with(".index");
}

}  // namespace

Result<TfBundleIndex> ReadTfBundleIndex(ByteSpan bytes) {
  TfBundleIndex index;
  bool have_header = false;
  Status status = ReadTable(bytes, [&](std::string_view key, std::string_view value) -> Status {
    const ByteSpan payload(reinterpret_cast<const uint8_t*>(value.data()), value.size());
    if (key.empty()) {
      have_header = true;
      ASSIGN_OR_RETURN(index.num_shards, DecodeBundleHeader(payload));
      if (index.num_shards < 1 || index.num_shards > kMaxShards) {
        return Status::Corruption("tf bundle: header claims " + std::to_string(index.num_shards) +
                                  " shards");
      }
      return Status::Ok();
    }
    if (!have_header) return Status::Corruption("tf bundle: first key is not the header");
    ASSIGN_OR_RETURN(TfBundleEntry entry, DecodeBundleEntry(payload));
    entry.name = std::string(key);
    RETURN_IF_ERROR(CheckEntry(entry, index.num_shards));
    index.entries.push_back(std::move(entry));
    return Status::Ok();
  });
  RETURN_IF_ERROR(status);
  if (!have_header) return Status::Corruption("tf bundle: index has no header entry");
  return index;
}

std::string TfBundleShardName(std::string_view index_file_name, int32_t shard, int32_t num_shards) {
  std::string_view prefix = BaseName(index_file_name);
  if (prefix.ends_with(".index")) prefix.remove_suffix(6);
  char suffix[48];
  std::snprintf(suffix, sizeof(suffix), ".data-%05d-of-%05d", shard, num_shards);
  return std::string(prefix) + suffix;
}

Result<ParsedFile> ParseTfBundle(ByteSpan bytes, std::string_view index_file_name) {
  ASSIGN_OR_RETURN(const TfBundleIndex index, ReadTfBundleIndex(bytes));
  std::map<int32_t, std::vector<Segment>> shards;
  for (const TfBundleEntry& entry : index.entries) {
    if (entry.sliced || entry.size == 0) continue;
    shards[entry.shard_id].push_back(EntrySegment(entry));
  }
  ParsedFile parsed;
  parsed.format = "tf-bundle";
  parsed.segments.push_back(Segment{0, bytes.size(), SegmentKind::kMetadata, {}, {}, {}, {}});
  for (auto& [shard, segments] : shards) {
    ASSIGN_OR_RETURN(segments,
                     SortedDisjointSegments("tf bundle", std::move(segments), kUnknownFileSize));
    parsed.companions.push_back(
        {TfBundleShardName(index_file_name, shard, index.num_shards), std::move(segments)});
  }
  return parsed;
}

Result<ParsedFile> ParseTfBundleSavedModel(ByteSpan bytes) {
  return ParseTfBundle(bytes, "variables.index");
}

Result<ParsedFile> ParseTfBundleNamed(std::string_view file_name, ByteSpan bytes) {
  return ParseTfBundle(bytes, file_name);
}

const FormatParser& TfBundleFormat() {
  static const FormatParser parser{"tf-bundle", &Sniff, &ParseTfBundleSavedModel,
                                   &ParseTfBundleNamed};
  return parser;
}

}  // namespace re2po
