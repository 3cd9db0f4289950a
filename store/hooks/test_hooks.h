// Hooks the crash-safety and lifecycle tests use to kill or stall a program
// at a known place (docs/reliability.md). Which implementation a program
// gets is decided when it is linked (store/hooks/CMakeLists.txt): shipped
// programs get hooks that do nothing; test builds get hooks read from the
// environment:
//
// RE2PO_CRASH_POINT: a point name ("before-commit", "after-commit"), or
// "bytes:N" to die with SIGKILL when an import has processed N bytes (checked
// once per file or 64 MiB window), or "chunk-bytes:N" to die once the chunk
// writer has hashed N bytes of chunks in this process (checked per chunk, on
// the hashing threads, so points fall inside a file).
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
