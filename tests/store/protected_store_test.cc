// Protected models in a real store: sealed chunks read back only with their
// key, share nothing with open models, dedup and delta among the versions of
// one key only, and damaged ciphertext reads as Corruption, never bytes.

#include <cstring>
#include <random>
#include <set>

#include "store/chunks/codec.h"
#include "store/crypto/keyring.h"
#include "store/db/db.h"
#include "tests/store/planted_store.h"
#include "tests/testutil/model_files.h"

namespace re2po {
namespace {

namespace fs = std::filesystem;
using testing::NamedTensor;

// A 64-byte marker that must never be found in a protected model's values.
const std::string kMarker = "ENDANGERED-SPECIES-LOCATIONS-rhino-herd-7-grid-ref-4417-2209-xyz";

// float32 weights, Normal(0, 0.05), with the marker planted every 64 KiB.
std::vector<uint8_t> Weights(size_t bytes, uint32_t seed, float step = 0) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<uint8_t> out(bytes);
  for (size_t i = 0; i + 4 <= bytes; i += 4) {
    float value = normal(rng);
    std::memcpy(out.data() + i, &value, 4);
  }
  for (size_t at = 0; at + kMarker.size() <= bytes; at += 64 << 10) {
    std::memcpy(out.data() + at, kMarker.data(), kMarker.size());
  }
  if (step != 0) {  // a fine-tune: every weight moved a little, markers kept
    std::normal_distribution<float> move(0.0f, step);
    for (size_t i = 4096; i + 4 <= bytes; i += 4) {
      if ((i % (64 << 10)) < 128) continue;
      float value = 0;
      std::memcpy(&value, out.data() + i, 4);
      value += value * move(rng);
      std::memcpy(out.data() + i, &value, 4);
    }
  }
  return out;
}

std::vector<uint8_t> Model(uint32_t seed, float step = 0) {
  const size_t size = testing::Scaled(3 << 20, 3 << 19);
  return testing::SafetensorsFile({NamedTensor{"backbone.weight", Weights(size, seed, step)},
                                   NamedTensor{"head.weight", Weights(size / 4, seed + 1, step)}});
}

// Random bytes (stored raw: they do not compress) with the marker planted
// every 64 KiB, so a value that holds them in the clear shows it.
std::vector<uint8_t> Incompressible(uint32_t seed) {
  std::vector<uint8_t> out = testing::RandomBytes(testing::Scaled(3 << 20, 3 << 19), seed);
  for (size_t at = 0; at + kMarker.size() <= out.size(); at += 64 << 10) {
    std::memcpy(out.data() + at, kMarker.data(), kMarker.size());
  }
  return out;
}

// Files under `dir` (RocksDB's blob and table files, its log) holding `needle`.
std::vector<fs::path> FilesHolding(const fs::path& dir, const std::string& needle) {
  std::vector<fs::path> found;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const std::vector<uint8_t> bytes = testing::ReadFileBytes(entry.path());
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (text.find(needle) != std::string_view::npos) found.push_back(entry.path());
  }
  return found;
}

class ProtectedStoreTest : public testing::PlantedStoreTest {
 protected:
  void SetUp() override {
    PlantedStoreTest::SetUp();
    ASSERT_OK_AND_ASSIGN(SealingKey wildlife, SealingKey::Generate("wildlife"));
    ASSERT_OK_AND_ASSIGN(SealingKey other, SealingKey::Generate("other"));
    key_ = std::make_shared<SealingKey>(wildlife);
    auto ring = std::make_shared<Keyring>();
    ASSERT_OK(ring->Add(wildlife));
    keyring_ = ring;
    auto other_ring = std::make_shared<Keyring>();
    ASSERT_OK(other_ring->Add(other));
    other_keyring_ = other_ring;
  }

  Result<ImportSummary> Import(const std::string& model, const std::vector<uint8_t>& file,
                               bool protect) {
    const fs::path source = tmp_.path() / ("src-" + model);
    testing::WriteFileBytes(source / "model.safetensors", file);
    StoreOptions options;
    options.dir = dir();
    options.writer = true;
    options.keyring = keyring_;
    ASSIGN_OR_RETURN(std::unique_ptr<Store> writer, Store::Open(options));
    ImportRequest request;
    request.model = model;
    request.source = source;
    if (protect) request.protect = key_;
    return writer->Import(request);
  }

  Result<std::unique_ptr<Store>> Reader(std::shared_ptr<const Keyring> keyring) {
    StoreOptions options;
    options.dir = dir();
    options.keyring = std::move(keyring);
    return Store::Open(options);
  }

  static Result<std::shared_ptr<const Recipe>> RecipeOf(Store& store, const std::string& model) {
    const VersionRecord* record = store.Catalog()->FindVersion(model, 1);
    if (!record) return Status::NotFound(model);
    ASSIGN_OR_RETURN(auto tree, store.Tree(*record));
    return store.FileRecipe(tree->entry(*tree->Find("model.safetensors")).digest);
  }

  static Result<std::vector<uint8_t>> ReadAll(Store& store, const std::string& model) {
    ASSIGN_OR_RETURN(auto recipe, RecipeOf(store, model));
    std::vector<uint8_t> out(recipe->size());
    ASSIGN_OR_RETURN(size_t n, store.ReadFile(*recipe, 0, out));
    out.resize(n);
    return out;
  }

  std::shared_ptr<const SealingKey> key_;
  std::shared_ptr<const Keyring> keyring_;
  std::shared_ptr<const Keyring> other_keyring_;
};

TEST_F(ProtectedStoreTest, AProtectedVersionReadsBackOnlyWithItsKey) {
  const std::vector<uint8_t> file = Model(1);
  ASSERT_OK_AND_ASSIGN(ImportSummary summary, Import("rhino", file, /*protect=*/true));
  ASSERT_TRUE(summary.version.protection.has_value());
  EXPECT_EQ(summary.version.protection->key_name, "wildlife");
  EXPECT_EQ(summary.version.protection->key_id, key_->id());

  ASSERT_OK_AND_ASSIGN(auto with_key, Reader(keyring_));
  const VersionRecord* record = with_key->Catalog()->FindVersion("rhino", 1);
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(record->protection, summary.version.protection) << "kept in the catalog";
  ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> read, ReadAll(*with_key, "rhino"));
  EXPECT_TRUE(read == file);
  ASSERT_OK_AND_ASSIGN(VerifyReport report, with_key->Verify(nullptr));
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.sealed_unchecked, 0u);
  EXPECT_GT(report.chunks_checked, 2u);

  for (std::shared_ptr<const Keyring> wrong : {std::shared_ptr<const Keyring>(), other_keyring_}) {
    ASSERT_OK_AND_ASSIGN(auto without, Reader(wrong));
    std::vector<uint8_t> out(file.size());
    ASSERT_OK_AND_ASSIGN(auto recipe, RecipeOf(*without, "rhino"));
    Result<size_t> refused = without->ReadFile(*recipe, 0, out);
    EXPECT_STATUS_CODE(StatusCode::kPermissionDenied, refused);
    EXPECT_NE(refused.status().message().find(key_->IdHex()), std::string::npos)
        << refused.status().message();
    ASSERT_OK_AND_ASSIGN(VerifyReport unchecked, without->Verify(nullptr));
    EXPECT_TRUE(unchecked.ok()) << "a missing key is not damage";
    EXPECT_EQ(unchecked.sealed_unchecked, report.chunks_checked);
  }
}

TEST_F(ProtectedStoreTest, SealedValuesHideTheContentAndShareNothingWithOpenModels) {
  const std::vector<uint8_t> file = Incompressible(2);
  ASSERT_OK_AND_ASSIGN(ImportSummary sealed, Import("rhino", file, /*protect=*/true));
  // On disk, in the blob files, tables and log: none of the plaintext.
  EXPECT_EQ(FilesHolding(dir(), kMarker), std::vector<fs::path>());
  ASSERT_OK(Import("open", file, /*protect=*/false).status());
  EXPECT_FALSE(FilesHolding(dir(), kMarker).empty()) << "control: open bytes are found";
  EXPECT_EQ(sealed.new_chunks, sealed.chunks) << "the same bytes, but nothing shared";

  ASSERT_OK_AND_ASSIGN(auto store, Reader(keyring_));
  ASSERT_OK_AND_ASSIGN(auto open_recipe, RecipeOf(*store, "open"));
  ASSERT_OK_AND_ASSIGN(auto sealed_recipe, RecipeOf(*store, "rhino"));
  std::set<Digest> open_chunks;
  for (const Extent& extent : open_recipe->extents) open_chunks.insert(extent.chunk);
  bool open_shows_marker = false;
  for (const Digest& chunk : open_chunks) {
    ASSERT_OK_AND_ASSIGN(std::string value, store->StoredChunkValue(chunk));
    open_shows_marker |= value.find(kMarker) != std::string::npos;
  }
  EXPECT_TRUE(open_shows_marker) << "control: an open model's values hold its bytes";
  for (const Extent& extent : sealed_recipe->extents) {
    EXPECT_FALSE(open_chunks.contains(extent.chunk));
    ASSERT_OK_AND_ASSIGN(std::string value, store->StoredChunkValue(extent.chunk));
    ASSERT_OK_AND_ASSIGN(ChunkValue parsed, ParseChunkValue(value));
    EXPECT_EQ(parsed.codec, CodecId::kSealed);
    EXPECT_FALSE(parsed.checksum.has_value()) << "no checksum of the plaintext in the clear";
    EXPECT_EQ(value.find(kMarker), std::string::npos);
  }
  const VersionRecord* open_record = store->Catalog()->FindVersion("open", 1);
  const VersionRecord* sealed_record = store->Catalog()->FindVersion("rhino", 1);
  EXPECT_NE(open_record->digest, sealed_record->digest) << "file names are keyed too";
}

TEST_F(ProtectedStoreTest, VersionsOfOneKeyDedupAndDeltaOnlyAmongThemselves) {
  const std::vector<uint8_t> base = Model(3);
  const std::vector<uint8_t> tuned = Model(3, 1e-3f);
  ASSERT_OK_AND_ASSIGN(ImportSummary first, Import("rhino", base, /*protect=*/true));
  ASSERT_OK_AND_ASSIGN(ImportSummary again, Import("rhino-copy", base, /*protect=*/true));
  EXPECT_EQ(again.new_chunks, 0u) << "the same bytes under the same key are stored once";
  ASSERT_OK_AND_ASSIGN(ImportSummary fine_tune, Import("rhino-tuned", tuned, /*protect=*/true));
  EXPECT_GT(fine_tune.delta_chunks, 0u) << "a fine-tune of a protected model is a delta";
  EXPECT_LT(fine_tune.version.new_bytes, first.version.new_bytes * 3 / 4);
  // An open model with the same tensor names is never stored against the
  // sealed chunks: it would need the key, and say what it shares.
  ASSERT_OK_AND_ASSIGN(ImportSummary open, Import("open-tuned", Model(3, 2e-3f), false));
  EXPECT_EQ(open.delta_chunks, 0u);

  ASSERT_OK_AND_ASSIGN(auto with_key, Reader(keyring_));
  ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> read, ReadAll(*with_key, "rhino-tuned"));
  EXPECT_TRUE(read == tuned);
  ASSERT_OK_AND_ASSIGN(auto without, Reader(nullptr));
  ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> open_read, ReadAll(*without, "open-tuned"));
  EXPECT_EQ(open_read.size(), tuned.size()) << "the open model needs no key";
}

TEST_F(ProtectedStoreTest, DamagedCiphertextIsCorruptionNeverBytes) {
  const std::vector<uint8_t> file = Model(4);
  ASSERT_OK(Import("rhino", file, /*protect=*/true).status());
  Digest victim;
  std::string value;
  {
    ASSERT_OK_AND_ASSIGN(auto store, Reader(keyring_));
    ASSERT_OK_AND_ASSIGN(auto recipe, RecipeOf(*store, "rhino"));
    victim = recipe->extents[1].chunk;
    ASSERT_OK_AND_ASSIGN(value, store->StoredChunkValue(victim));
  }
  value[value.size() / 2] ^= 0x01;
  ASSERT_OK(Put(Cf::kChunks, victim.view(), value));
  ASSERT_OK_AND_ASSIGN(auto store, Reader(keyring_));
  EXPECT_STATUS_CODE(StatusCode::kCorruption, store->ReadChunk(victim));
  ASSERT_OK_AND_ASSIGN(VerifyReport report, store->Verify(nullptr));
  ASSERT_EQ(report.damaged.size(), 1u);
  EXPECT_EQ(report.damaged[0].chunk, victim);
}

}  // namespace
}  // namespace re2po
