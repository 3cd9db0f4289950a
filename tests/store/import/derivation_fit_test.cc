// Fitting derivations at import (issue #18): the per-channel factors of a
// folded BatchNorm and the scale and zero point of a quantization are
// recovered from the base and the new bytes well enough that the prediction
// is exact, outliers and all; the sign sketch that finds a folded tensor's
// base does not change when channels are rescaled.
#include "store/import/derivation_fit.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "store/import/tensor_sketch.h"

namespace re2po {
namespace {

std::vector<uint8_t> AsBytes(const std::vector<float>& values) {
  std::vector<uint8_t> bytes(4 * values.size());
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

std::vector<float> Weights(size_t count, uint32_t seed) {
  std::mt19937 random(seed);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> weights(count);
  for (float& weight : weights) weight = normal(random);
  return weights;
}

size_t Mismatches(const Transform& transform, const std::vector<uint8_t>& base,
                  const std::vector<uint8_t>& data) {
  std::vector<uint8_t> prediction(data.size());
  EXPECT_TRUE(Predict(transform, base, prediction).ok());
  size_t differ = 0;
  for (size_t i = 0; i < data.size(); ++i) differ += prediction[i] != data[i];
  return differ;
}

TEST(DerivationFitTest, RecoversTheFactorOfEveryChannelExactly) {
  const size_t per_channel = 3 * 3 * 16;
  const std::vector<float> weights = Weights(per_channel * 40, 1);
  std::vector<float> factors(41);
  for (size_t c = 0; c < factors.size(); ++c) {
    factors[c] = (c % 5 == 0 ? -1.0f : 1.0f) * (0.5f + 0.037f * float(c));
  }
  // A piece that starts 100 elements into channel 0 and ends inside the last.
  const size_t phase = 100;
  std::vector<float> folded(weights.size());
  for (size_t i = 0; i < weights.size(); ++i) {
    folded[i] = weights[i] * factors[(phase + i) / per_channel];
  }
  Transform transform(Derivation::kScalePerChannel);
  transform.channel_elements = per_channel;
  transform.phase = phase;
  const std::vector<uint8_t> base = AsBytes(weights);
  const std::vector<uint8_t> data = AsBytes(folded);
  FitTransform(transform, base, data);
  ASSERT_EQ(transform.scales.size(), factors.size());
  EXPECT_EQ(transform.scales, factors);
  EXPECT_EQ(Mismatches(transform, base, data), 0u);
}

// torch's symmetric per-tensor quantization, as tools/bench writes it.
std::vector<uint8_t> QuantizeSymmetric(const std::vector<float>& weights, float& scale) {
  float largest = 0;
  for (float weight : weights) largest = std::max(largest, std::fabs(weight));
  scale = largest / 127.0f;
  std::vector<uint8_t> q(weights.size());
  for (size_t i = 0; i < weights.size(); ++i) {
    const float rounded = std::nearbyint(weights[i] / scale);
    q[i] = static_cast<uint8_t>(static_cast<int8_t>(std::clamp(rounded, -127.0f, 127.0f)));
  }
  return q;
}

TEST(DerivationFitTest, RecoversASymmetricQuantizationFromAPieceOfTheTensor) {
  std::vector<float> weights = Weights(1 << 16, 2);
  float scale = 0;
  const std::vector<uint8_t> quantized = QuantizeSymmetric(weights, scale);
  // The second half: its largest value is not the tensor's.
  const size_t half = weights.size() / 2;
  const std::vector<uint8_t> base =
      AsBytes(std::vector<float>(weights.begin() + half, weights.end()));
  const std::vector<uint8_t> data(quantized.begin() + half, quantized.end());
  Transform transform(Derivation::kQuantizeF32ToI8);
  FitTransform(transform, base, data);
  EXPECT_EQ(transform.zero_point, 0);
  EXPECT_NEAR(transform.scale, scale, scale * 1e-4);
  EXPECT_LE(Mismatches(transform, base, data), data.size() / 1000);
}

TEST(DerivationFitTest, OutliersDoNotSpoilAnAsymmetricQuantization) {
  std::vector<float> weights = Weights(20000, 3);
  const float scale = 0.2f / 255;
  const int32_t zero_point = 131;
  std::vector<uint8_t> data(weights.size());
  for (size_t i = 0; i < weights.size(); ++i) {
    data[i] = static_cast<uint8_t>(QuantizeF32(weights[i], scale, zero_point, 0, 255));
  }
  // Values the producer replaced before quantizing: NaN, an infinity and a
  // huge weight quantized as if they were zero.
  for (size_t i : {10u, 500u, 9000u}) data[i] = zero_point;
  weights[10] = NAN;
  weights[500] = INFINITY;
  weights[9000] = -70000.0f;
  const std::vector<uint8_t> base = AsBytes(weights);
  Transform transform(Derivation::kQuantizeF32ToU8);
  FitTransform(transform, base, data);
  EXPECT_EQ(transform.zero_point, zero_point);
  EXPECT_LE(Mismatches(transform, base, data), 2u + data.size() / 1000);
}

TEST(DerivationFitTest, ChannelsQuantizedWithTheirOwnScalesGetAScaleEach) {
  // 64 channels of 300 weights, each channel's weights spread differently
  // and quantized symmetrically by its own scale, as torch.ao's
  // per_channel_symmetric observer does; the piece starts 100 weights in.
  const size_t channels = 64;
  const size_t per_channel = 300;
  std::vector<float> weights = Weights(channels * per_channel, 6);
  std::vector<uint8_t> quantized(weights.size());
  for (size_t c = 0; c < channels; ++c) {
    float largest = 0;
    for (size_t i = c * per_channel; i < (c + 1) * per_channel; ++i) {
      weights[i] *= 1.0f + float(c % 7);
      largest = std::max(largest, std::fabs(weights[i]));
    }
    for (size_t i = c * per_channel; i < (c + 1) * per_channel; ++i) {
      quantized[i] = static_cast<uint8_t>(QuantizeF32(weights[i], largest / 127, 0, -128, 127));
    }
  }
  const std::vector<uint8_t> base =
      AsBytes(std::vector<float>(weights.begin() + 100, weights.end()));
  const std::vector<uint8_t> data(quantized.begin() + 100, quantized.end());
  Transform transform(Derivation::kQuantizeF32ToI8);
  transform.channel_elements = per_channel;
  transform.phase = 100;
  FitTransform(transform, base, data);
  EXPECT_EQ(transform.kind, Derivation::kQuantizePerChannelF32ToI8);
  EXPECT_EQ(transform.scales.size(), channels);
  EXPECT_LE(Mismatches(transform, base, data), data.size() / 1000);

  // One scale for the whole tensor stays per tensor.
  float scale = 0;
  const std::vector<uint8_t> uniform = QuantizeSymmetric(weights, scale);
  Transform single(Derivation::kQuantizeF32ToI8);
  single.channel_elements = per_channel;
  FitTransform(single, AsBytes(weights), uniform);
  EXPECT_EQ(single.kind, Derivation::kQuantizeF32ToI8);
  EXPECT_LE(Mismatches(single, AsBytes(weights), uniform), uniform.size() / 1000);
}

TEST(DerivationFitTest, NothingToFitLeavesAPredictionThatIsMerelyWrong) {
  const std::vector<uint8_t> base = AsBytes(std::vector<float>(64, 0.0f));
  const std::vector<uint8_t> data(64, 0x55);
  Transform transform(Derivation::kQuantizeF32ToI8);
  FitTransform(transform, base, data);
  std::vector<uint8_t> prediction(data.size());
  EXPECT_TRUE(Predict(transform, base, prediction).ok());
}

TEST(TensorSketchTest, IsTheSameAfterEachChannelIsRescaled) {
  const std::vector<int64_t> shape = {64, 32, 3, 3};
  const size_t per_channel = 32 * 9;
  const std::vector<float> weights = Weights(64 * per_channel, 4);
  std::vector<float> folded = weights;
  for (size_t i = 0; i < folded.size(); ++i) {
    folded[i] *= (i / per_channel) % 3 == 0 ? -0.7f : 1.9f;
  }
  const auto sketch = TensorSketchOf(DType::kF32, shape, AsBytes(weights));
  ASSERT_TRUE(sketch.has_value());
  EXPECT_EQ(TensorSketchOf(DType::kF32, shape, AsBytes(folded)), sketch);
  EXPECT_NE(TensorSketchOf(DType::kF32, shape, AsBytes(Weights(weights.size(), 5))), sketch);
}

TEST(TensorSketchTest, ConstantsVectorsAndOtherTypesHaveNone) {
  const std::vector<int64_t> shape = {64, 288};
  EXPECT_FALSE(TensorSketchOf(DType::kF32, shape, AsBytes(std::vector<float>(64 * 288, 0.01f))));
  EXPECT_FALSE(TensorSketchOf(DType::kF32, {64 * 288}, AsBytes(Weights(64 * 288, 6))));
  EXPECT_FALSE(TensorSketchOf(DType::kF16, shape, AsBytes(Weights(64 * 288, 6))));
  EXPECT_FALSE(TensorSketchOf(DType::kF32, shape, AsBytes(Weights(64 * 287, 6))));
}

TEST(TensorSketchTest, APermutationSketchIsTheSameInAnyLayout) {
  const std::vector<float> weights = Weights(64 * 32 * 9, 7);
  std::vector<float> transposed(weights.size());  // [64, 288] -> [288, 64]
  for (size_t o = 0; o < 64; ++o) {
    for (size_t i = 0; i < 288; ++i) transposed[i * 64 + o] = weights[o * 288 + i];
  }
  const auto sketch = PermutationSketchOf(DType::kF32, {64, 288}, AsBytes(weights), 1 << 20);
  ASSERT_TRUE(sketch.has_value());
  EXPECT_EQ(PermutationSketchOf(DType::kF32, {288, 64}, AsBytes(transposed), 1 << 20), sketch);
  std::vector<float> changed = transposed;
  changed[17] = std::nextafter(changed[17], 1.0f);
  EXPECT_NE(PermutationSketchOf(DType::kF32, {288, 64}, AsBytes(changed), 1 << 20), sketch);
  EXPECT_FALSE(PermutationSketchOf(DType::kF32, {64, 288}, AsBytes(weights), 1 << 14))
      << "bigger than one chunk";
}

TEST(DerivationFitTest, ChoosesTheLayoutThatFitsASquareKernel) {
  // [8, 8, 3, 3] OIHW -> HWIO: (2, 3, 1, 0) but also (3, 2, 0, 1) and
  // others fit the shape [3, 3, 8, 8].
  const std::vector<float> weights = Weights(8 * 8 * 9, 8);
  std::vector<float> hwio(weights.size());
  for (size_t o = 0; o < 8; ++o) {
    for (size_t i = 0; i < 8; ++i) {
      for (size_t h = 0; h < 3; ++h) {
        for (size_t w = 0; w < 3; ++w) {
          hwio[((h * 3 + w) * 8 + i) * 8 + o] = weights[((o * 8 + i) * 3 + h) * 3 + w];
        }
      }
    }
  }
  Transform permuted(Derivation::kPermute32);
  permuted.base_dims = {8, 8, 3, 3};
  permuted.axes = {3, 2, 0, 1};
  const std::vector<uint8_t> base = AsBytes(weights);
  const std::vector<uint8_t> data = AsBytes(hwio);
  ChooseAxes(permuted, {{3, 2, 0, 1}, {2, 3, 0, 1}, {3, 2, 1, 0}, {2, 3, 1, 0}}, base, data);
  EXPECT_EQ(permuted.axes, (std::vector<uint8_t>{2, 3, 1, 0}));
  EXPECT_EQ(Mismatches(permuted, base, data), 0u);
}

}  // namespace
}  // namespace re2po
