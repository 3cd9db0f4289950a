// Process-wide malloc settings for programs that read chunks (the CLI and
// the mount daemon); called once at the start of main.
#pragma once

namespace re2po {

// Chunks come and go a megabyte at a time. By default glibc maps blocks
// that large afresh and unmaps them on free, so every chunk read (ours and
// RocksDB's buffer for it) paid for new zeroed pages: `re2po cat` of a
// 45 MB model spent twice the CPU. Kept in the heap, freed memory serves
// the next chunk.
void KeepChunkSizedBlocksInTheHeap();

}  // namespace re2po
