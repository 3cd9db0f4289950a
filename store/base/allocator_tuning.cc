#include "store/base/allocator_tuning.h"

#include <malloc.h>

namespace re2po {

void KeepChunkSizedBlocksInTheHeap() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_ARENA_MAX, 1);
}

}  // namespace re2po
