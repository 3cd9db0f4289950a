// Decoded chunks as readers hold them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace re2po {

// A decompressed, verified chunk, shared between the cache and readers.
using ChunkBytes = std::shared_ptr<const std::vector<uint8_t>>;

// Bytes [offset, offset + length) of one chunk: a file read is a run of
// these, which a reader can hand on (to the kernel) without copying.
struct ChunkSlice {
  ChunkBytes chunk;
  size_t offset = 0;
  size_t length = 0;
};

// Copies the slices one after another into `out` (large enough); returns the count.
size_t CopySlices(const std::vector<ChunkSlice>& slices, std::span<uint8_t> out);

}  // namespace re2po
