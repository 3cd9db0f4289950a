// Parser throughput on the real fixtures (../shared/fixtures), each beside
// a memcpy of the same file as the native baseline.
#include <benchmark/benchmark.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "store/formats/gguf.h"
#include "store/formats/hdf5.h"
#include "store/formats/isolated_parse.h"
#include "store/formats/onnx.h"
#include "store/formats/pytorch.h"
#include "store/formats/safetensors.h"
#include "store/formats/tf_bundle.h"
#include "store/formats/tflite.h"

namespace re2po {
namespace {

std::vector<uint8_t> Load(const std::string& relative) {
  std::ifstream in(std::filesystem::path(RE2PO_FIXTURES_DIR) / relative, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void Run(benchmark::State& state, const std::string& fixture, ParseFn parse) {
  const std::vector<uint8_t> bytes = Load(fixture);
  if (bytes.empty()) {
    state.SkipWithError(("fixture absent: " + fixture).c_str());
    return;
  }
  size_t segments = 0;
  for (auto _ : state) {
    auto parsed = parse(bytes);
    if (!parsed.ok()) {
      state.SkipWithError(parsed.status().ToString().c_str());
      return;
    }
    segments = parsed->segments.size();
    for (const auto& companion : parsed->companions) segments += companion.segments.size();
  }
  state.counters["segments"] = static_cast<double>(segments);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}

Result<ParsedFile> CopyOnly(ByteSpan bytes) {
  std::vector<uint8_t> copy(bytes.begin(), bytes.end());
  benchmark::DoNotOptimize(copy.data());
  return ParsedFile{};
}

void BM_NativeCopy(benchmark::State& s) {
  Run(s, "safetensors/ollama/minicpm3-4b-model.safetensors", &CopyOnly);
}
void BM_Safetensors(benchmark::State& s) {
  Run(s, "safetensors/ollama/minicpm3-4b-model.safetensors", &ParseSafetensors);
}
void BM_Onnx(benchmark::State& s) { Run(s, "onnx/onnx_repo/light_densenet121.onnx", &ParseOnnx); }
void BM_Pytorch(benchmark::State& s) { Run(s, "pytorch/candle/test_with_key.pt", &ParsePytorch); }
void BM_TfBundle(benchmark::State& s) {
  Run(s, "tf_savedmodel_partial/amdmigraphx_resnet50/variables/variables.index",
      &ParseTfBundleSavedModel);
}
void BM_Tflite(benchmark::State& s) {
  Run(s, "tf_serving/parse_example_tflite/00000123/model.tflite", &ParseTflite);
}
void BM_Hdf5(benchmark::State& s) {
  Run(s, "keras_h5/tflite_micro_magic_wand/weights.h5", &ParseHdf5);
}
BENCHMARK(BM_NativeCopy);
BENCHMARK(BM_Safetensors);
BENCHMARK(BM_Onnx);
BENCHMARK(BM_Pytorch);
BENCHMARK(BM_TfBundle);
BENCHMARK(BM_Tflite);
BENCHMARK(BM_Hdf5);

}  // namespace
}  // namespace re2po
