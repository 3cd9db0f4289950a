// Derivations: exact, deterministic transforms that predict a chunk from the
// chunk of another tensor (issue #18). A derived chunk (codec 5,
// docs/format.md) stores only `actual XOR Predict(base)`; a prediction that
// differs from what the producer wrote (another NaN payload, another
// rounding) costs residual bytes, never correctness, since every read is
// checked against the chunk's checksum.
//
// The numbers are stored on disk: never renumber, only append.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "store/base/dtype.h"
#include "store/base/status.h"

namespace re2po {

enum class Derivation : uint8_t {
  // IEEE binary32 -> binary16, round to nearest even as numpy's astype and
  // torch's .half() do; NaN -> 0x7E00 with its sign (torch), infinities
  // kept, values from 65520 up -> infinity, below 2^-14 -> subnormals.
  kCastF32ToF16 = 1,
  // binary32 -> bfloat16 (the high half), round to nearest even as torch's
  // .to(torch.bfloat16); NaN -> 0x7FC0 whatever its sign (torch).
  kCastF32ToBF16 = 2,
};

std::string_view DerivationName(Derivation derivation);  // "cast f16", ...

// The derivation that makes a `to` tensor from a `from` tensor, if any.
std::optional<Derivation> CastBetween(DType from, DType to);

// Base bytes per derived byte (2 for both casts).
uint64_t BaseBytesPerDerivedByte(Derivation derivation);

// Writes the prediction of `out.size()` bytes from `base`, which must hold
// exactly BaseBytesPerDerivedByte(derivation) * out.size() bytes; an
// unknown derivation or a size that does not match is Corruption.
Status Predict(Derivation derivation, std::span<const uint8_t> base, std::span<uint8_t> out);

// One element, for tests: the same rounding as Predict.
uint16_t CastF32ToF16(uint32_t bits);
uint16_t CastF32ToBF16(uint32_t bits);

}  // namespace re2po
