// Micro-benchmarks of the import and read hot paths. Each family has a
// native baseline in the same run (memcpy over the same bytes), so the
// figures read as ratios on a noisy machine: run re2po_microbench and
// compare bytes_per_second with BM_NativeMemcpy's.
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <vector>

#include "store/base/digest.h"
#include "store/chunks/chunk_cache.h"
#include "store/chunks/chunk_decoder.h"
#include "store/chunks/codec.h"
#include "store/crypto/keyring.h"
#include "store/import/chunker.h"

namespace re2po {
namespace {

// Float weights, as most model bytes are: random normal values, scaled.
const std::vector<uint8_t>& Weights() {
  static const std::vector<uint8_t> bytes = [] {
    std::mt19937 rng(1);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    std::vector<float> values(16 << 20 >> 2);
    for (float& v : values) v = normal(rng);
    std::vector<uint8_t> out(values.size() * 4);
    std::memcpy(out.data(), values.data(), out.size());
    return out;
  }();
  return bytes;
}

void SetBytes(benchmark::State& state, size_t per_iteration) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * per_iteration));
}

void BM_NativeMemcpy(benchmark::State& state) {
  const auto& in = Weights();
  std::vector<uint8_t> out(in.size());
  for (auto _ : state) {
    std::memcpy(out.data(), in.data(), in.size());
    benchmark::DoNotOptimize(out.data());
  }
  SetBytes(state, in.size());
}
BENCHMARK(BM_NativeMemcpy);

void BM_Sha256(benchmark::State& state) {
  const auto& in = Weights();
  for (auto _ : state) benchmark::DoNotOptimize(Sha256Of(std::span(in)));
  SetBytes(state, in.size());
}
BENCHMARK(BM_Sha256);

void BM_GenericChunker(benchmark::State& state) {
  const auto& in = Weights();
  auto chunker = MakeGenericChunker();
  for (auto _ : state) benchmark::DoNotOptimize(chunker->Cut(in, {}));
  SetBytes(state, in.size());
}
BENCHMARK(BM_GenericChunker);

void BM_TensorAwareChunker(benchmark::State& state) {
  const auto& in = Weights();
  std::vector<Segment> segments;
  for (uint64_t offset = 0; offset < in.size(); offset += 3 << 20) {
    uint64_t length = std::min<uint64_t>(3 << 20, in.size() - offset);
    segments.push_back({offset, length - 100, SegmentKind::kTensor, "t", DType::kF32, "", {}});
    segments.push_back({offset + length - 100, 100, SegmentKind::kMetadata, "", {}, "", {}});
  }
  auto chunker = MakeTensorAwareChunker();
  for (auto _ : state) benchmark::DoNotOptimize(chunker->Cut(in, segments));
  SetBytes(state, in.size());
}
BENCHMARK(BM_TensorAwareChunker);

// Arg 0: zstd level; arg 1: 1 for byte planes (the default), 0 for plain zstd.
void BM_EncodeChunk(benchmark::State& state) {
  const auto& all = Weights();
  std::span<const uint8_t> chunk(all.data(), 1 << 20);
  CodecOptions options;
  options.zstd_level = static_cast<int>(state.range(0));
  options.byte_planes = state.range(1) != 0;
  const Digest name = Sha256Of(chunk);
  size_t payload = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(EncodeChunkValue(name, chunk, DType::kF32, options, payload));
  state.counters["ratio"] = static_cast<double>(payload) / static_cast<double>(chunk.size());
  SetBytes(state, chunk.size());
}
BENCHMARK(BM_EncodeChunk)->Args({1, 1})->Args({1, 0})->Args({3, 1});

// A read's work on one fetched chunk: decode, then check. Arg: byte planes.
void BM_DecodeChunk(benchmark::State& state) {
  const auto& all = Weights();
  std::span<const uint8_t> chunk(all.data(), 1 << 20);
  CodecOptions options;
  options.byte_planes = state.range(0) != 0;
  size_t payload = 0;
  const Digest name = Sha256Of(chunk);
  const std::string value = EncodeChunkValue(name, chunk, DType::kF32, options, payload);
  const ChunkValue parsed = ParseChunkValue(value).value();
  std::vector<uint8_t> out(chunk.size());
  for (auto _ : state) {
    Status status = DecodeChunk(parsed.codec, parsed.payload, out);
    benchmark::DoNotOptimize(status.ok() && ChunkChecksum(name, out) == *parsed.checksum);
  }
  SetBytes(state, chunk.size());
}
BENCHMARK(BM_DecodeChunk)->Arg(1)->Arg(0);

// A read's whole work on a fetched value, through DecodeChunkValue: open
// (arg 0) or sealed by a protected model's key (arg 1), so the pair reads
// as what AES-256-GCM adds to a read.
void BM_DecodeChunkValue(benchmark::State& state) {
  const auto& all = Weights();
  std::span<const uint8_t> chunk(all.data(), 1 << 20);
  const bool sealed = state.range(0) != 0;
  Keyring keyring;
  const SealingKey key = SealingKey::Generate("bench").value();
  if (!keyring.Add(key).ok()) state.SkipWithError("keyring");
  const Digest name = sealed ? key.NameOf(chunk) : Sha256Of(chunk);
  size_t payload = 0;
  std::string value = EncodeChunkValue(name, chunk, DType::kF32, CodecOptions{}, payload);
  if (sealed) value = SealChunkValue(name, chunk.size(), value, key);
  for (auto _ : state) {
    Result<ChunkBytes> bytes =
        DecodeChunkValue(name, value, ChunkCheck::kFast, false, nullptr, &keyring);
    benchmark::DoNotOptimize(bytes.ok());
  }
  SetBytes(state, chunk.size());
}
BENCHMARK(BM_DecodeChunkValue)->Arg(0)->Arg(1);

// Naming a chunk at import: SHA-256 (open) against HMAC-SHA256 (protected).
void BM_KeyedName(benchmark::State& state) {
  const auto& in = Weights();
  const SealingKey key = SealingKey::Generate("bench").value();
  for (auto _ : state) benchmark::DoNotOptimize(key.NameOf(std::span(in)));
  SetBytes(state, in.size());
}
BENCHMARK(BM_KeyedName);

void BM_ChunkChecksum(benchmark::State& state) {
  const auto& in = Weights();
  const Digest name = Sha256Of(std::string_view("name"));
  for (auto _ : state) benchmark::DoNotOptimize(ChunkChecksum(name, in));
  SetBytes(state, in.size());
}
BENCHMARK(BM_ChunkChecksum);

void BM_ChunkCacheHit(benchmark::State& state) {
  ChunkCache cache(size_t{256} << 20, 16);
  std::vector<Digest> digests;
  for (int i = 0; i < 128; ++i) {
    digests.push_back(Sha256Of(std::to_string(i)));
    cache.Insert(digests.back(), std::make_shared<const std::vector<uint8_t>>(1 << 20));
  }
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(cache.Lookup(digests[i++ % digests.size()]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ChunkCacheHit)->Threads(1)->Threads(2);

}  // namespace
}  // namespace re2po
