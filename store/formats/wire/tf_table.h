// A reader for TensorFlow's LevelDB-style immutable table (the .index file
// of a tensor bundle; tensorflow/core/lib/io/format.h and LevelDB's
// doc/table_format.md). It checks every block's masked CRC32C before use
// and decompresses Snappy blocks only after their claimed size passes a
// bound, so a hostile index cannot make it read out of bounds or allocate
// without limit.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "store/base/byte_span.h"
#include "store/base/status.h"

namespace re2po {

inline constexpr uint64_t kTableMagic = 0xdb4775248b80fb57ull;
inline constexpr uint64_t kTableFooterSize = 48;

struct TableLimits {
  uint64_t max_block_size = uint64_t{64} << 20;           // one uncompressed block
  uint64_t max_total_uncompressed = uint64_t{256} << 20;  // all blocks together
};

using TableVisitor = std::function<Status(std::string_view key, std::string_view value)>;

// Calls `visit` for every entry of every data block, in index order.
Status ReadTable(ByteSpan bytes, const TableVisitor& visit, const TableLimits& limits = {});

// True when the last 8 bytes are the table magic.
bool HasTableMagic(ByteSpan bytes);

}  // namespace re2po
