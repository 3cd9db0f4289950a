#include "store/chunks/chunk_bytes.h"

#include <cstring>

namespace re2po {

size_t CopySlices(const std::vector<ChunkSlice>& slices, std::span<uint8_t> out) {
  size_t copied = 0;
  for (const ChunkSlice& slice : slices) {
    std::memcpy(out.data() + copied, slice.chunk->data() + slice.offset, slice.length);
    copied += slice.length;
  }
  return copied;
}

}  // namespace re2po
