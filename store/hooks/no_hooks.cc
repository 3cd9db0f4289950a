// The test hooks of shipped programs: nothing. re2po and mount.re2po link
// this, so no environment variable can make them crash or stall.
#include "store/hooks/test_hooks.h"

namespace re2po {

void CrashPoint(std::string_view) {}
void CrashPointBytes(uint64_t) {}
void CrashPointChunkBytes(uint64_t) {}
void TestDelay(std::string_view) {}

}  // namespace re2po
