// Byte planes: the bytes of fixed-width elements regrouped by position, so
// plane k holds byte k of every element. Trained float weights have a few
// distinct exponents and random mantissas; apart, the exponent planes
// compress well and the mantissa planes are kept as they are (codec 2,
// docs/format.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace re2po {

// Elements of 2, 4 or 8 bytes; other widths have no planes.
inline bool HasBytePlanes(size_t width) { return width == 2 || width == 4 || width == 8; }

// in.size() == width * plane_size; planes[k] receives plane_size bytes.
void SplitBytePlanes(std::span<const uint8_t> in, size_t width, uint8_t* const* planes,
                     size_t plane_size);
// The inverse: out.size() == width * plane_size.
void JoinBytePlanes(const uint8_t* const* planes, size_t width, size_t plane_size,
                    std::span<uint8_t> out);

}  // namespace re2po
