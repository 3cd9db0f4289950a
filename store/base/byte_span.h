// A read-only view of bytes: a mapped file, a chunk, a parser's input.
#pragma once

#include <cstdint>
#include <span>

namespace re2po {

using ByteSpan = std::span<const uint8_t>;

}  // namespace re2po
