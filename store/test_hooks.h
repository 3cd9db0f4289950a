// Crash points for the crash-safety tests (docs/reliability.md). Set
// RE2PO_CRASH_POINT to a point name ("before-commit", "after-commit") or to
// "bytes:N" to die with SIGKILL when an import has processed N bytes (checked
// once per file or 64 MiB window), or to "chunk-bytes:N" to die once the chunk
// writer has hashed N bytes of chunks in this process (checked per chunk, on
// the hashing threads, so points fall inside a file). Unset, these cost one
// cached getenv.
//
// RE2PO_TEST_DELAY="NAME:MS" makes TestDelay(NAME) sleep MS milliseconds,
// to hold a request open at a known place (the mount's lifecycle tests).
#pragma once

#include <cstdint>
#include <string_view>

namespace re2po {

void CrashPoint(std::string_view name);
void CrashPointBytes(uint64_t bytes_done);
void CrashPointChunkBytes(uint64_t chunk_bytes);
void TestDelay(std::string_view name);

}  // namespace re2po
