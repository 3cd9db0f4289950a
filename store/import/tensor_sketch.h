// A sketch that finds the tensor a convolution was made from when its name
// tells nothing: an ONNX export with BatchNorm folded in names its weights
// "onnx::Conv_193" and scales every output channel by its own factor. The
// sketch is the sign pattern of the first few elements of the first
// channels, each channel's signs taken relative to its first element, so a
// positive or negative factor per channel leaves it as it was, and so does
// a cast (even where a value underflows to a signed zero).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "store/base/dtype.h"

namespace re2po {

// Tensors from this size up get a sketch (store/import/delta_bases.h).
inline constexpr uint64_t kMinSketchedTensor = uint64_t{8} << 10;

// The sketch of an fp32, fp16 or bf16 tensor of `shape` (at least two
// axes, axis 0 the output channels) whose bytes are `tensor`, or nothing
// when the tensor has too few signs to tell it apart (a constant
// initialisation, zeros). Only fp32 tensors are indexed; a cast copy is
// looked up by its sketch among them.
std::optional<std::string> TensorSketchOf(DType dtype, const std::vector<int64_t>& shape,
                                          std::span<const uint8_t> tensor);

// A sketch no permutation of the axes changes, for finding the tensor a
// Keras- or TFLite-layout kernel was transposed from: the dims sorted, and
// the sum of a hash of every element's bits. Only for fp32 tensors of at
// least two axes from kMinSketchedTensor up to `most_bytes` (a permuted
// tensor is predicted from its whole base, which must be one chunk).
std::optional<std::string> PermutationSketchOf(DType dtype, const std::vector<int64_t>& shape,
                                               std::span<const uint8_t> tensor,
                                               uint64_t most_bytes);

}  // namespace re2po
