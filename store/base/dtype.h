// Element types that travel with tensor chunks. The numeric values are stored
// on disk (docs/format.md, chunk info), so never renumber; only append.
#pragma once

#include <cstdint>
#include <string_view>

namespace re2po {

enum class DType : uint8_t {
  kUnknown = 0,  // metadata, or a type this build does not name
  kF64 = 1,
  kF32 = 2,
  kF16 = 3,
  kBF16 = 4,
  kF8 = 5,  // any 8-bit float variant
  kI64 = 6,
  kI32 = 7,
  kI16 = 8,
  kI8 = 9,
  kU64 = 10,
  kU32 = 11,
  kU16 = 12,
  kU8 = 13,
  kBool = 14,
  kComplex64 = 15,
  kComplex128 = 16,
  kQuantized = 17,  // block-quantized (ggml Q*/IQ*, 4-bit and 2-bit ints)
  kString = 18,
};

std::string_view DTypeName(DType dtype);
// Parses a name as written by DTypeName ("f32", "bf16", ...). Unknown -> kUnknown.
DType DTypeFromName(std::string_view name);

}  // namespace re2po
