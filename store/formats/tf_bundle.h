// TensorFlow tensor bundles (checkpoints, SavedModel variables/): a
// `<prefix>.index` table of BundleEntryProto plus headerless data shards
// `<prefix>.data-SSSSS-of-NNNNN`. The index holds no tensor bytes, so its own
// segments are metadata; every tensor becomes a segment of a companion shard.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/formats/format.h"

namespace re2po {

struct TfBundleEntry {
  std::string name;   // table key (slice keys start with a 0 byte)
  int32_t dtype = 0;  // tensorflow.DataType
  std::vector<int64_t> shape;
  int32_t shard_id = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint32_t masked_crc32c = 0;  // as stored: MaskCrc32c(Crc32c(bytes)) for numeric tensors
  bool sliced = false;         // a partitioned tensor: its bytes live under slice keys
};

struct TfBundleIndex {
  int32_t num_shards = 1;
  std::vector<TfBundleEntry> entries;  // key order, header excluded
};

// Reads the table and decodes the header and every entry; checks shard ids
// and that offset + size cannot overflow.
Result<TfBundleIndex> ReadTfBundleIndex(ByteSpan bytes);

// "variables.index" -> "variables.data-00003-of-00008" for shard 3 of 8.
std::string TfBundleShardName(std::string_view index_file_name, int32_t shard, int32_t num_shards);

// Segments for the index (one metadata segment) and for each data shard
// named after `index_file_name` (its folder part is dropped).
Result<ParsedFile> ParseTfBundle(ByteSpan bytes, std::string_view index_file_name);

// The FormatParser entry: the contract gives no file name, so companions are
// named as in a SavedModel ("variables.data-...").
Result<ParsedFile> ParseTfBundleSavedModel(ByteSpan bytes);

const FormatParser& TfBundleFormat();

}  // namespace re2po
