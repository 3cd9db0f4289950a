// Block sizes of ggml tensor types, from the block structs in ggml's
// ggml-common.h (each has a static_assert on its size). Ids 4-5, 31-33 and
// 36-38 were removed from ggml and are absent here on purpose.
#include "store/formats/gguf.h"

namespace re2po {
namespace {

constexpr uint32_t kSuperBlock = 256;  // QK_K

constexpr GgmlTypeInfo kGgmlTypes[] = {
    {0, "F32", 1, 4},
    {1, "F16", 1, 2},
    {2, "Q4_0", 32, 2 + 16},                 // half scale + 32 nibbles
    {3, "Q4_1", 32, 2 + 2 + 16},             // scale, min, nibbles
    {6, "Q5_0", 32, 2 + 4 + 16},             // scale, high bits, nibbles
    {7, "Q5_1", 32, 2 + 2 + 4 + 16},         //
    {8, "Q8_0", 32, 2 + 32},                 //
    {9, "Q8_1", 32, 2 + 2 + 32},             //
    {10, "Q2_K", kSuperBlock, 16 + 64 + 4},  // scales, 2-bit quants, d/dmin
    {11, "Q3_K", kSuperBlock, 32 + 64 + 12 + 2},
    {12, "Q4_K", kSuperBlock, 4 + 12 + 128},
    {13, "Q5_K", kSuperBlock, 4 + 12 + 32 + 128},
    {14, "Q6_K", kSuperBlock, 128 + 64 + 16 + 2},
    {15, "Q8_K", kSuperBlock, 4 + 256 + 32},  // float scale, quants, 16 int16 sums
    {16, "IQ2_XXS", kSuperBlock, 2 + 64},
    {17, "IQ2_XS", kSuperBlock, 2 + 64 + 8},
    {18, "IQ3_XXS", kSuperBlock, 2 + 96},
    {19, "IQ1_S", kSuperBlock, 2 + 32 + 16},
    {20, "IQ4_NL", 32, 2 + 16},
    {21, "IQ3_S", kSuperBlock, 2 + 64 + 8 + 32 + 4},
    {22, "IQ2_S", kSuperBlock, 2 + 64 + 8 + 8},
    {23, "IQ4_XS", kSuperBlock, 2 + 2 + 4 + 128},
    {24, "I8", 1, 1},
    {25, "I16", 1, 2},
    {26, "I32", 1, 4},
    {27, "I64", 1, 8},
    {28, "F64", 1, 8},
    {29, "IQ1_M", kSuperBlock, 32 + 16 + 8},
    {30, "BF16", 1, 2},
    {34, "TQ1_0", kSuperBlock, 48 + 4 + 2},
    {35, "TQ2_0", kSuperBlock, 64 + 2},
    {39, "MXFP4", 32, 1 + 16},  // shared E8M0 exponent + 32 E2M1 nibbles
    {40, "NVFP4", 64, 4 + 32},  // four E4M3 sub-block scales + 64 nibbles
    {41, "Q1_0", 128, 2 + 16},  // half scale + 128 bits
};

}  // namespace

std::optional<GgmlTypeInfo> FindGgmlType(uint32_t id) {
  for (const GgmlTypeInfo& info : kGgmlTypes) {
    if (info.id == id) return info;
  }
  return std::nullopt;
}

}  // namespace re2po
