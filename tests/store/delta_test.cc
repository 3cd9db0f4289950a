// Delta chunks against a real store: a "fine-tune" (every weight of a base
// model moved a little) is stored as XORs with the base's pieces, reads back
// exactly, keeps its bases alive through rm + gc, fails cleanly when a base
// is damaged, and a crafted chain of deltas is refused rather than followed.

#include <cmath>
#include <cstring>
#include <map>
#include <random>

#include "store/base/coding.h"
#include "store/chunks/codec.h"
#include "store/db/db.h"
#include "store/db/keys.h"
#include "store/import/chunker.h"
#include "store/store.h"
#include "tests/store/planted_store.h"

namespace re2po {
namespace {

namespace fs = std::filesystem;
using Tensors = std::map<std::string, std::vector<float>>;

// safetensors: u64 header length, JSON header, raw little-endian data.
std::vector<uint8_t> Safetensors(const Tensors& tensors) {
  std::string header = "{";
  uint64_t offset = 0;
  for (const auto& [name, values] : tensors) {
    if (header.size() > 1) header += ",";
    const uint64_t bytes = values.size() * 4;
    header += "\"" + name + "\":{\"dtype\":\"F32\",\"shape\":[" + std::to_string(values.size()) +
              "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + bytes) + "]}";
    offset += bytes;
  }
  header += "}";
  while (header.size() % 8 != 0) header += " ";
  std::string out;
  PutFixed64(out, header.size());
  out += header;
  for (const auto& [name, values] : tensors) {
    out.append(reinterpret_cast<const char*>(values.data()), values.size() * 4);
  }
  return std::vector<uint8_t>(out.begin(), out.end());
}

Tensors Base(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  Tensors tensors;
  for (const char* name : {"layer1.weight", "layer2.weight", "layer3.weight"}) {
    std::vector<float>& values = tensors[name];
    values.resize(testing::Scaled(600000, 150000));  // 2.4 MiB: three pieces
    for (float& v : values) v = normal(rng);
  }
  tensors["head.weight"].assign(40000, 0.5f);
  return tensors;
}

// What a small learning rate does: every weight moves by about 1e-3 of itself.
Tensors FineTune(Tensors tensors, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> step(0.0f, 1e-3f);
  for (auto& [name, values] : tensors) {
    for (float& v : values) v += v * step(rng);
  }
  return tensors;
}

class DeltaTest : public testing::PlantedStoreTest {
 protected:
  Result<ImportSummary> Import(const std::string& model, const std::vector<uint8_t>& file,
                               bool delta = true) {
    const fs::path source = tmp_.path() / ("src-" + model);
    testing::WriteFileBytes(source / "model.safetensors", file);
    ASSIGN_OR_RETURN(std::unique_ptr<Store> writer, Open(true));
    ImportRequest request;
    request.model = model;
    request.version = 1;
    request.source = source;
    request.delta = delta;
    return writer->Import(request);
  }
  Result<std::vector<uint8_t>> ReadBack(Store& store, const std::vector<uint8_t>& file) {
    ASSIGN_OR_RETURN(auto recipe, store.FileRecipe(Sha256Of(std::span<const uint8_t>(file))));
    std::vector<uint8_t> out(recipe->size());
    ASSIGN_OR_RETURN(size_t n, store.ReadFile(*recipe, 0, out));
    out.resize(n);
    return out;
  }
  // Every delta chunk of `file` with its base, read from the chunk infos.
  std::map<Digest, Digest> DeltasOf(Store& store, const std::vector<uint8_t>& file) {
    std::map<Digest, Digest> deltas;
    auto recipe = store.FileRecipe(Sha256Of(std::span<const uint8_t>(file)));
    if (!recipe.ok()) return deltas;
    auto db = Db::Open(dir() / "db", Db::Mode::kReader);
    if (!db.ok()) return deltas;
    for (const Extent& extent : (*recipe)->extents) {
      auto value = (*db)->Get(Cf::kChunkInfo, extent.chunk.view());
      if (!value.ok() || !*value) continue;
      auto info = ChunkInfo::Decode(**value);
      if (info.ok() && info->base) deltas[extent.chunk] = *info->base;
    }
    return deltas;
  }
};

TEST_F(DeltaTest, AFineTuneIsStoredAsDifferencesAndReadsBackExactly) {
  const Tensors base = Base(1);
  const std::vector<uint8_t> base_file = Safetensors(base);
  const std::vector<uint8_t> tuned_file = Safetensors(FineTune(base, 2));
  ASSERT_OK_AND_ASSIGN(ImportSummary first, Import("base", base_file));
  ASSERT_OK_AND_ASSIGN(ImportSummary tuned, Import("tuned", tuned_file));
  EXPECT_EQ(first.delta_chunks, 0u);
  const uint64_t pieces =
      (base.at("layer1.weight").size() * 4 + kTensorPieceSize - 1) / kTensorPieceSize;
  EXPECT_GE(tuned.delta_chunks, 3 * pieces) << "every piece of the three large tensors";
  EXPECT_LT(tuned.version.new_bytes, first.version.new_bytes * 3 / 4)
      << "delta " << tuned.version.new_bytes << ", base " << first.version.new_bytes;

  ASSERT_OK_AND_ASSIGN(auto reader, Open(false));
  ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> read, ReadBack(*reader, tuned_file));
  EXPECT_TRUE(read == tuned_file);
  ASSERT_OK_AND_ASSIGN(VerifyReport report, reader->Verify(nullptr));
  EXPECT_TRUE(report.ok());

  // Without deltas the same fine-tune costs about what the base did.
  const std::vector<uint8_t> other_file = Safetensors(FineTune(base, 3));
  ASSERT_OK_AND_ASSIGN(ImportSummary whole, Import("whole", other_file, /*delta=*/false));
  EXPECT_EQ(whole.delta_chunks, 0u);
  EXPECT_GT(whole.version.new_bytes, first.version.new_bytes * 9 / 10);
}

TEST_F(DeltaTest, RemovingTheBaseKeepsWhatTheFineTuneNeedsAndGcLaterFreesAll) {
  const Tensors base = Base(1);
  const std::vector<uint8_t> base_file = Safetensors(base);
  const std::vector<uint8_t> tuned_file = Safetensors(FineTune(base, 2));
  ASSERT_OK(Import("base", base_file).status());
  ASSERT_OK(Import("tuned", tuned_file).status());
  {
    ASSERT_OK_AND_ASSIGN(auto writer, Open(true));
    ASSERT_OK(writer->Remove("base", 1));
    ASSERT_OK(writer->CollectGarbage(nullptr).status());
    ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> read, ReadBack(*writer, tuned_file));
    EXPECT_TRUE(read == tuned_file);
    ASSERT_OK_AND_ASSIGN(VerifyReport report, writer->Verify(nullptr));
    EXPECT_TRUE(report.ok());
    ASSERT_OK(writer->Remove("tuned", 1));
    ASSERT_OK(writer->CollectGarbage(nullptr).status());
    ASSERT_OK_AND_ASSIGN(StoreStats stats, writer->Stats());
    EXPECT_EQ(stats.chunk_count, 0u);
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Db> db, Db::Open(dir() / "db", Db::Mode::kReader));
  DbIterator it = db->NewIterator(Cf::kCatalog);
  const std::string names(1, keys::kTensorNameTag);
  it.Seek(names);
  EXPECT_FALSE(it.Valid() && it.key().starts_with(names)) << "gc left tensor-name entries";
}

TEST_F(DeltaTest, ADamagedBaseFailsEveryDeltaOnItAndVerifyNamesThem) {
  const Tensors base = Base(1);
  const std::vector<uint8_t> tuned_file = Safetensors(FineTune(base, 2));
  ASSERT_OK(Import("base", Safetensors(base)).status());
  ASSERT_OK(Import("tuned", tuned_file).status());
  std::map<Digest, Digest> deltas;
  {
    ASSERT_OK_AND_ASSIGN(auto reader, Open(false));
    deltas = DeltasOf(*reader, tuned_file);
  }
  ASSERT_FALSE(deltas.empty());
  const auto& [delta, base_chunk] = *deltas.begin();
  ASSERT_OK(Put(Cf::kChunks, base_chunk.view(), std::string(4096, '\x5a')));
  ASSERT_OK_AND_ASSIGN(auto reader, Open(false));
  Result<ChunkBytes> read = reader->ReadChunk(delta);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kCorruption) << read.status().ToString();
  EXPECT_NE(read.status().message().find(base_chunk.Hex()), std::string::npos)
      << "the error names the base: " << read.status().ToString();
  ASSERT_OK_AND_ASSIGN(VerifyReport report, reader->Verify(nullptr));
  std::set<Digest> damaged;
  for (const DamagedChunk& chunk : report.damaged) damaged.insert(chunk.chunk);
  EXPECT_TRUE(damaged.contains(base_chunk));
  EXPECT_TRUE(damaged.contains(delta));
}

// Two delta values planted to point at each other: a read must refuse the
// second level instead of following (or waiting on) the cycle.
TEST_F(DeltaTest, ADeltaWhoseBaseIsADeltaIsRefused) {
  const std::vector<uint8_t> a(64 << 10, 1), b(64 << 10, 2);
  const Digest name_a = Sha256Of(std::span<const uint8_t>(a));
  const Digest name_b = Sha256Of(std::span<const uint8_t>(b));
  size_t payload = 0;
  ASSERT_OK(Put(Cf::kChunks, name_a.view(),
                EncodeDeltaChunkValue(name_a, a, name_b, b, DType::kF32, CodecOptions{}, payload)));
  ASSERT_OK(Put(Cf::kChunks, name_b.view(),
                EncodeDeltaChunkValue(name_b, b, name_a, a, DType::kF32, CodecOptions{}, payload)));
  ASSERT_OK_AND_ASSIGN(auto reader, Open(false));
  for (const Digest& name : {name_a, name_b}) {
    Result<ChunkBytes> read = reader->ReadChunk(name);
    ASSERT_FALSE(read.ok());
    EXPECT_NE(read.status().message().find("delta"), std::string::npos) << read.status().ToString();
  }
}

}  // namespace
}  // namespace re2po
