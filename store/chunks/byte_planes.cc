#include "store/chunks/byte_planes.h"

#include <cstring>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace re2po {
namespace {

// even[i] = in[2i], odd[i] = in[2i + 1] for i < pairs.
void Deinterleave(const uint8_t* in, size_t pairs, uint8_t* even, uint8_t* odd) {
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i low_bytes = _mm_set1_epi16(0x00ff);
  for (; i + 16 <= pairs; i += 16) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 2 * i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 2 * i + 16));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(even + i),
                     _mm_packus_epi16(_mm_and_si128(a, low_bytes), _mm_and_si128(b, low_bytes)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(odd + i),
                     _mm_packus_epi16(_mm_srli_epi16(a, 8), _mm_srli_epi16(b, 8)));
  }
#endif
  for (; i < pairs; ++i) {
    even[i] = in[2 * i];
    odd[i] = in[2 * i + 1];
  }
}

// The inverse of Deinterleave.
void Interleave(const uint8_t* even, const uint8_t* odd, size_t pairs, uint8_t* out) {
  size_t i = 0;
#if defined(__SSE2__)
  for (; i + 16 <= pairs; i += 16) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(even + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(odd + i));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 2 * i), _mm_unpacklo_epi8(a, b));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 2 * i + 16), _mm_unpackhi_epi8(a, b));
  }
#endif
  for (; i < pairs; ++i) {
    out[2 * i] = even[i];
    out[2 * i + 1] = odd[i];
  }
}

// Splitting a stream of `width`-byte elements into even and odd bytes gives
// two streams of width / 2 whose byte m is byte 2m (even) or 2m + 1 (odd) of
// the element; repeating that down to width 2 lands every byte position in
// its plane. Plane `first + step * m` receives byte m of the stream.
void SplitLevels(const uint8_t* in, size_t width, size_t plane_size, uint8_t* const* planes,
                 size_t first, size_t step, uint8_t* scratch) {
  if (width == 2) {
    Deinterleave(in, plane_size, planes[first], planes[first + step]);
    return;
  }
  const size_t half = width / 2 * plane_size;
  uint8_t* even = scratch;
  uint8_t* odd = scratch + half;
  Deinterleave(in, half, even, odd);
  SplitLevels(even, width / 2, plane_size, planes, first, step * 2, scratch + 2 * half);
  SplitLevels(odd, width / 2, plane_size, planes, first + step, step * 2, scratch + 2 * half);
}

void JoinLevels(const uint8_t* const* planes, size_t first, size_t step, size_t width,
                size_t plane_size, uint8_t* out, uint8_t* scratch) {
  if (width == 2) {
    Interleave(planes[first], planes[first + step], plane_size, out);
    return;
  }
  const size_t half = width / 2 * plane_size;
  uint8_t* even = scratch;
  uint8_t* odd = scratch + half;
  JoinLevels(planes, first, step * 2, width / 2, plane_size, even, scratch + 2 * half);
  JoinLevels(planes, first + step, step * 2, width / 2, plane_size, odd, scratch + 2 * half);
  Interleave(even, odd, half, out);
}

// Width 8 needs 8 + 4 plane sizes of scratch (two levels above width 2).
uint8_t* Scratch(size_t width, size_t plane_size) {
  thread_local std::vector<uint8_t> scratch;
  const size_t needed = width > 2 ? (width + width / 2) * plane_size : 0;
  if (scratch.size() < needed) scratch.resize(needed);
  return scratch.data();
}

}  // namespace

void SplitBytePlanes(std::span<const uint8_t> in, size_t width, uint8_t* const* planes,
                     size_t plane_size) {
  if (plane_size == 0) return;
  SplitLevels(in.data(), width, plane_size, planes, 0, 1, Scratch(width, plane_size));
}

void JoinBytePlanes(const uint8_t* const* planes, size_t width, size_t plane_size,
                    std::span<uint8_t> out) {
  if (plane_size == 0) return;
  JoinLevels(planes, 0, 1, width, plane_size, out.data(), Scratch(width, plane_size));
}

}  // namespace re2po
