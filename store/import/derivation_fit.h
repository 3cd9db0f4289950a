// Fitting a derivation's parameters to the bytes at hand (issue #18): the
// per-channel factors of a folded BatchNorm and the scale and zero point of
// a quantization are not in the file where the derived chunk can find them,
// so the import recovers them from the base piece and the new piece. A fit
// that is a little off only leaves more residual bytes; the chunk writer
// keeps the derived chunk only when it pays.
#pragma once

#include <cstdint>
#include <span>

#include "store/chunks/derivation.h"

namespace re2po {

// Fills the parameters of `transform` (channel_elements and phase already
// set for kScalePerChannel) so that Predict(transform, base) comes as close
// to `data` as it can. Derivations without parameters are left as they are.
void FitTransform(Transform& transform, std::span<const uint8_t> base,
                  std::span<const uint8_t> data);

}  // namespace re2po
