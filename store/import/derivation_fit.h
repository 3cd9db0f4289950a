// Fitting a derivation's parameters to the bytes at hand (issue #18): the
// per-channel factors of a folded BatchNorm and the scale and zero point of
// a quantization are not in the file where the derived chunk can find them,
// so the import recovers them from the base piece and the new piece. A fit
// that is a little off only leaves more residual bytes; the chunk writer
// keeps the derived chunk only when it pays.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "store/chunks/derivation.h"

namespace re2po {

// Fills the parameters of `transform` (channel_elements and phase already
// set for kScalePerChannel) so that Predict(transform, base) comes as close
// to `data` as it can. Derivations without parameters are left as they are.
// A per-tensor quantization given channel_elements and phase becomes a
// per-channel one when that predicts enough more elements to pay for its
// parameters.
void FitTransform(Transform& transform, std::span<const uint8_t> base,
                  std::span<const uint8_t> data);

// For a permutation: the axes of `candidates` under which the prediction
// matches the most elements of `data` (a square kernel's H and W, or equal
// channel counts, allow several).
void ChooseAxes(Transform& transform, const std::vector<std::vector<uint8_t>>& candidates,
                std::span<const uint8_t> base, std::span<const uint8_t> data);

}  // namespace re2po
