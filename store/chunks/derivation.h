// Derivations: exact, deterministic transforms that predict a chunk from the
// chunk of another tensor (issue #18). A derived chunk (codec 5,
// docs/format.md) stores only `actual XOR Predict(base)`; a prediction that
// differs from what the producer wrote (another NaN payload, another
// rounding, a fitted parameter a little off) costs residual bytes, never
// correctness, since every read is checked against the chunk's checksum.
//
// The numbers are stored on disk: never renumber, only append.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/base/digest.h"
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
  // binary32 -> binary32, every element of output channel c (axis 0)
  // multiplied by a binary32 factor of that channel: a convolution with a
  // BatchNorm folded into it, as torch.onnx's constant folding writes it.
  kScalePerChannel = 3,
  // binary32 -> int8 / uint8: clamp(round_half_even(x / scale) + zero
  // point) with the division in binary32, as torch.round(w / scale) and
  // ONNX QuantizeLinear compute it; NaN -> the zero point.
  kQuantizeF32ToI8 = 4,
  kQuantizeF32ToU8 = 5,
  // binary16 / bfloat16 -> binary32, exact.
  kCastF16ToF32 = 6,
  kCastBF16ToF32 = 7,
  // 4-byte elements with their axes permuted (a Keras or TFLite layout of a
  // PyTorch or ONNX kernel: OIHW -> HWIO, a dense layer's transpose); the
  // base is the whole tensor, so only tensors stored as one chunk qualify.
  kPermute32 = 8,
  // binary32 -> int8 / uint8 as 4 and 5, with a scale and a zero point for
  // each output channel (axis 0): torch.ao's per_channel_affine and
  // per_channel_symmetric weights, ONNX QuantizeLinear with an axis.
  kQuantizePerChannelF32ToI8 = 9,
  kQuantizePerChannelF32ToU8 = 10,
  // As kPermute32, for a base tensor stored in several pieces (over 1 MiB):
  // the base is their concatenation, the first named where every base is,
  // the others in the parameters.
  kPermute32Pieces = 11,
};
constexpr Derivation kLastDerivation = Derivation::kPermute32Pieces;

// A derivation and the parameters it was fitted with; Encode/Decode are the
// on-disk form of the parameters (docs/format.md, codec 5).
struct Transform {
  explicit Transform(Derivation derivation = Derivation::kCastF32ToF16) : kind(derivation) {}

  Derivation kind;
  // kScalePerChannel and the per-channel quantizations: a channel holds
  // `channel_elements` elements, the piece starts `phase` elements into its
  // first channel, and scales[k] is the factor (or quantization scale) of
  // the k-th channel it touches, zero_points[k] its zero point.
  uint64_t channel_elements = 0;
  uint64_t phase = 0;
  std::vector<float> scales;
  std::vector<int32_t> zero_points;
  // Quantizations.
  float scale = 0;
  int32_t zero_point = 0;
  // Upcasts: the piece is predicted from the base's elements from this one
  // on (a base piece of 1 MiB casts to two pieces).
  uint64_t base_element = 0;
  // kPermute32: the base tensor's dims, and for each axis of the derived
  // tensor the base axis it is (out axis i runs along base axis axes[i]);
  // the piece starts at derived element `base_element`.
  std::vector<uint64_t> base_dims;
  std::vector<uint8_t> axes;
  // kPermute32Pieces: the base's pieces after the first, in order.
  std::vector<Digest> more_bases;

  // Whether the parameters are fitted from the data at import.
  bool NeedsFit() const;
  std::string EncodeParams() const;  // empty for the casts
  static Result<Transform> Decode(Derivation kind, std::string_view params);
};

bool HasParams(Derivation derivation);
bool IsPermutation(Derivation derivation);
// The per-channel form of a per-tensor quantization.
std::optional<Derivation> PerChannel(Derivation quantization);
std::string_view DerivationName(Derivation derivation);  // "cast f16", ...

// The derivation that makes a `to` tensor from a `from` tensor by a cast
// alone, if any.
std::optional<Derivation> CastBetween(DType from, DType to);

// Bytes of one element of the base and of the derived tensor.
struct ElementSizes {
  uint64_t base = 4;
  uint64_t derived = 2;
};
ElementSizes ElementSizesOf(Derivation derivation);

// Writes the prediction of `out.size()` bytes from `base`, which must hold
// the elements the prediction needs; an unknown derivation, parameters that
// do not fit the sizes, or a base of another size is Corruption.
Status Predict(const Transform& transform, std::span<const uint8_t> base, std::span<uint8_t> out);

// Predict with the base given as its pieces in order (their concatenation):
// a permutation reads them where they are, every other derivation from a
// joined copy.
Status PredictFromPieces(const Transform& transform,
                         std::span<const std::span<const uint8_t>> pieces, std::span<uint8_t> out);

// One element, for tests: the same rounding as Predict.
uint16_t CastF32ToF16(uint32_t bits);
uint16_t CastF32ToBF16(uint32_t bits);
uint32_t CastF16ToF32(uint16_t bits);
int32_t QuantizeF32(float value, float scale, int32_t zero_point, int32_t low, int32_t high);

}  // namespace re2po
