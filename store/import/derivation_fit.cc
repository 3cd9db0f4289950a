#include "store/import/derivation_fit.h"

#include <endian.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <vector>

namespace re2po {
namespace {

float F32At(std::span<const uint8_t> bytes, uint64_t element) {
  uint32_t word;
  std::memcpy(&word, bytes.data() + 4 * element, 4);
  return std::bit_cast<float>(le32toh(word));
}

uint32_t BitsAt(std::span<const uint8_t> bytes, uint64_t element) {
  uint32_t word;
  std::memcpy(&word, bytes.data() + 4 * element, 4);
  return le32toh(word);
}

// The factor that makes most of [first, first + count) of `base` into `data`
// bit for bit. The ratio at the largest element is within an ulp or two of
// the factor the producer multiplied by; its neighbours are tried too.
float FitChannel(std::span<const uint8_t> base, std::span<const uint8_t> data, uint64_t first,
                 uint64_t count) {
  uint64_t largest = first;
  for (uint64_t i = first; i < first + count; ++i) {
    const float value = std::fabs(F32At(base, i));
    if (std::isfinite(value) && value > std::fabs(F32At(base, largest))) largest = i;
  }
  const double ratio = double{F32At(data, largest)} / double{F32At(base, largest)};
  if (!std::isfinite(ratio)) return 1.0f;
  const float guess = static_cast<float>(ratio);
  float best = guess;
  uint64_t best_matches = 0;
  for (int step = -2; step <= 2; ++step) {
    float candidate = guess;
    for (int i = 0; i < std::abs(step); ++i) {
      candidate = std::nextafter(candidate, step < 0 ? -INFINITY : INFINITY);
    }
    uint64_t matches = 0;
    for (uint64_t i = first; i < first + count; ++i) {
      matches += std::bit_cast<uint32_t>(F32At(base, i) * candidate) == BitsAt(data, i);
    }
    if (matches > best_matches) {
      best = candidate;
      best_matches = matches;
      if (matches == count) break;
    }
  }
  return best;
}

// Calls fit(first, count) for the elements of each channel a piece of
// `elements` touches, in order, the first `phase` elements into its channel.
void ForEachChannel(const Transform& transform, uint64_t elements,
                    const std::function<void(uint64_t, uint64_t)>& fit) {
  const uint64_t per_channel = std::max<uint64_t>(transform.channel_elements, 1);
  uint64_t first = 0;
  uint64_t count = std::min(elements, per_channel - std::min(transform.phase, per_channel - 1));
  while (first < elements) {
    fit(first, count);
    first += count;
    count = std::min(per_channel, elements - first);
  }
}

void FitChannelScales(Transform& transform, std::span<const uint8_t> base,
                      std::span<const uint8_t> data) {
  transform.scales.clear();
  ForEachChannel(transform, data.size() / 4, [&](uint64_t first, uint64_t count) {
    transform.scales.push_back(FitChannel(base, data, first, count));
  });
}

struct Bounds {
  double low = 0;
  double high = std::numeric_limits<double>::infinity();
  bool Empty() const { return !(low <= high); }
};

// Rounding of the binary32 division moves a quotient by up to half an ulp:
// 4e-6 at 127. A quotient that close to a tie may round either way.
constexpr double kQuotientSlack = 1e-5;

// Narrows `scale` to the values for which `value` quantizes to `quantized`.
void Narrow(Bounds& scale, float value, int32_t quantized, int32_t zero_point, int32_t low,
            int32_t high) {
  const double steps = quantized - zero_point;
  // value / scale lies in [below, above]
  const double below = quantized == low ? -INFINITY : steps - 0.5 - kQuotientSlack;
  const double above = quantized == high ? INFINITY : steps + 0.5 + kQuotientSlack;
  const double magnitude = std::fabs(double{value});
  if (!std::isfinite(magnitude) || magnitude == 0) return;
  // For a positive value, value / scale falls as scale grows; a negative
  // one mirrors it: |value| / scale lies in [-above, -below].
  const double near = value > 0 ? below : -above;  // |value| / scale >= near
  const double far = value > 0 ? above : -below;   // |value| / scale <= far
  if (far <= 0) {
    scale.low = INFINITY;  // no positive scale quantizes it so
    return;
  }
  scale.low = std::max(scale.low, magnitude / far);
  if (near > 0) scale.high = std::min(scale.high, magnitude / near);
}

uint64_t QuantizeMatches(std::span<const uint8_t> base, std::span<const uint8_t> data, float scale,
                         int32_t zero_point, int32_t low, int32_t high) {
  const uint64_t stride = std::max<uint64_t>(1, data.size() / 4096);
  uint64_t matches = 0;
  for (uint64_t i = 0; i < data.size(); i += stride) {
    const int32_t predicted = QuantizeF32(F32At(base, i), scale, zero_point, low, high);
    matches += static_cast<uint8_t>(predicted) == data[i];
  }
  return matches;
}

// A rough scale that outliers do not move: the median of value / steps
// over a sample of elements well away from zero.
std::optional<double> RoughScale(std::span<const uint8_t> base, std::span<const uint8_t> data,
                                 const std::function<int32_t(uint64_t)>& quantized,
                                 int32_t zero_point) {
  std::vector<double> ratios;
  const uint64_t stride = std::max<uint64_t>(1, data.size() / 4096);
  for (uint64_t i = 0; i < data.size(); i += stride) {
    const int32_t steps = quantized(i) - zero_point;
    const double ratio = double{F32At(base, i)} / steps;
    if (std::abs(steps) >= 2 && std::isfinite(ratio) && ratio > 0) ratios.push_back(ratio);
  }
  if (ratios.empty()) return std::nullopt;
  std::nth_element(ratios.begin(), ratios.begin() + ratios.size() / 2, ratios.end());
  return ratios[ratios.size() / 2];
}

// The scale for `zero_point`: narrowed by every element that agrees with
// the rough scale to within a step, so clamped or replaced values are left
// out; the rough scale itself if they disagree.
std::optional<float> FitScale(std::span<const uint8_t> base, std::span<const uint8_t> data,
                              const std::function<int32_t(uint64_t)>& quantized, int32_t zero_point,
                              int32_t low, int32_t high) {
  const std::optional<double> rough = RoughScale(base, data, quantized, zero_point);
  if (!rough) return std::nullopt;
  Bounds scale;
  for (uint64_t i = 0; i < data.size(); ++i) {
    const float value = F32At(base, i);
    const int32_t steps = quantized(i) - zero_point;
    if (std::fabs(value / *rough - steps) > 1.0) continue;
    Bounds narrowed = scale;
    Narrow(narrowed, value, quantized(i), zero_point, low, high);
    if (!narrowed.Empty()) scale = narrowed;
  }
  const double fitted =
      scale.low > 0 && std::isfinite(scale.high) ? (scale.low + scale.high) / 2 : *rough;
  return static_cast<float>(fitted);
}

void FitQuantization(Transform& transform, std::span<const uint8_t> base,
                     std::span<const uint8_t> data) {
  const bool is_signed = transform.kind == Derivation::kQuantizeF32ToI8;
  const int32_t low = is_signed ? -128 : 0;
  const int32_t high = is_signed ? 127 : 255;
  const std::function<int32_t(uint64_t)> quantized = [&](uint64_t i) {
    return is_signed ? int32_t{static_cast<int8_t>(data[i])} : int32_t{data[i]};
  };
  // The zero point: that of symmetric quantization, or where the smallest
  // magnitude went.
  uint64_t smallest = 0;
  for (uint64_t i = 1; i < data.size(); ++i) {
    if (std::fabs(F32At(base, i)) < std::fabs(F32At(base, smallest))) smallest = i;
  }
  transform.scale = 1.0f;  // nothing fits: a harmless scale the writer will not keep
  transform.zero_point = 0;
  uint64_t best_matches = 0;
  for (int32_t zero_point : {is_signed ? 0 : 128, quantized(smallest)}) {
    const std::optional<float> scale = FitScale(base, data, quantized, zero_point, low, high);
    if (!scale || !std::isfinite(*scale) || !(*scale > 0)) continue;
    const uint64_t matches = QuantizeMatches(base, data, *scale, zero_point, low, high);
    if (matches > best_matches) {
      best_matches = matches;
      transform.scale = *scale;
      transform.zero_point = zero_point;
    }
  }
}

uint64_t QuantizeMisses(const Transform& transform, std::span<const uint8_t> base,
                        std::span<const uint8_t> data) {
  std::vector<uint8_t> prediction(data.size());
  if (!Predict(transform, base, prediction).ok()) return data.size();
  uint64_t misses = 0;
  for (size_t i = 0; i < data.size(); ++i) misses += prediction[i] != data[i];
  return misses;
}

// A scale and a zero point for each channel the piece touches, each fitted
// as a whole tensor's would be.
void FitQuantizationPerChannel(Transform& transform, std::span<const uint8_t> base,
                               std::span<const uint8_t> data) {
  transform.scales.clear();
  transform.zero_points.clear();
  const bool is_signed = transform.kind == Derivation::kQuantizePerChannelF32ToI8;
  Transform channel(is_signed ? Derivation::kQuantizeF32ToI8 : Derivation::kQuantizeF32ToU8);
  ForEachChannel(transform, data.size(), [&](uint64_t first, uint64_t count) {
    FitQuantization(channel, base.subspan(4 * first, 4 * count), data.subspan(first, count));
    transform.scales.push_back(channel.scale);
    transform.zero_points.push_back(channel.zero_point);
  });
}

// Per tensor, or per channel when the channels' parameters (5 bytes or so
// each) cost less than the elements a single scale gets wrong.
void FitEitherQuantization(Transform& transform, std::span<const uint8_t> base,
                           std::span<const uint8_t> data) {
  FitQuantization(transform, base, data);
  const std::optional<Derivation> per_channel = PerChannel(transform.kind);
  if (!per_channel || transform.channel_elements == 0) return;
  const uint64_t tensor_misses = QuantizeMisses(transform, base, data);
  if (tensor_misses == 0) return;
  Transform channels = transform;
  channels.kind = *per_channel;
  FitQuantizationPerChannel(channels, base, data);
  const uint64_t channel_misses = QuantizeMisses(channels, base, data);
  if (channel_misses + 5 * channels.scales.size() < tensor_misses) transform = std::move(channels);
}

}  // namespace

void FitTransform(Transform& transform, std::span<const uint8_t> base,
                  std::span<const uint8_t> data) {
  switch (transform.kind) {
    case Derivation::kScalePerChannel:
      if (base.size() == data.size()) FitChannelScales(transform, base, data);
      return;
    case Derivation::kQuantizeF32ToI8:
    case Derivation::kQuantizeF32ToU8:
      if (base.size() == 4 * data.size() && !data.empty()) {
        FitEitherQuantization(transform, base, data);
      }
      return;
    case Derivation::kQuantizePerChannelF32ToI8:
    case Derivation::kQuantizePerChannelF32ToU8:
      if (base.size() == 4 * data.size() && !data.empty()) {
        FitQuantizationPerChannel(transform, base, data);
      }
      return;
    default:
      return;
  }
}

void ChooseAxes(Transform& transform, const std::vector<std::vector<uint8_t>>& candidates,
                std::span<const uint8_t> base, std::span<const uint8_t> data) {
  std::vector<uint8_t> prediction(data.size());
  uint64_t best_matches = 0;
  std::vector<uint8_t> best = transform.axes;
  for (const std::vector<uint8_t>& axes : candidates) {
    transform.axes = axes;
    if (!Predict(transform, base, prediction).ok()) continue;
    uint64_t matches = 0;
    for (size_t i = 0; i + 4 <= data.size(); i += 4) {
      matches += std::memcmp(prediction.data() + i, data.data() + i, 4) == 0;
    }
    if (matches > best_matches) {
      best_matches = matches;
      best = axes;
    }
  }
  transform.axes = best;
}

}  // namespace re2po
