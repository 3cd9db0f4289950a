// Protected models on a remote, against a real Ceph: a sealed version is
// pushed as ciphertext (its plaintext is in no object of the bucket, while
// an open model's is), a node whose keyring holds the key reads it back
// byte for byte, and a node without the key sees the version in its
// catalog but is refused its chunks (PermissionDenied, never bytes), from
// the remote and from its own cache.
#include "tests/fleet/fleet_fixture.h"

#include <algorithm>
#include <cstring>

#include "store/crypto/keyring.h"
#include "store/crypto/sealing_key.h"

namespace re2po::testing {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

// 64-byte markers: one planted in the protected model, one in the open one.
const std::string kSealedMarker =
    "PROTECTED-PLAINTEXT-MARKER:snow-leopard-den-coordinates-812-0147";
const std::string kOpenMarker = "OPEN-PLAINTEXT-MARKER-----:published-model-card-bytes-in-clear!!";

// Random bytes (they do not compress, so an open chunk stores them as they
// are) with `marker` planted every 64 KiB.
std::vector<uint8_t> MarkedBytes(size_t size, uint64_t seed, const std::string& marker) {
  std::vector<uint8_t> bytes = RandomBytes(size, seed);
  for (size_t at = 0; at + marker.size() <= bytes.size(); at += 64 << 10) {
    std::memcpy(bytes.data() + at, marker.data(), marker.size());
  }
  return bytes;
}

bool Holds(std::string_view haystack, const std::string& needle) {
  return haystack.find(needle) != std::string_view::npos;
}

bool Holds(std::span<const uint8_t> haystack, const std::string& needle) {
  return Holds(std::string_view(reinterpret_cast<const char*>(haystack.data()), haystack.size()),
               needle);
}

// Files under `dir` holding `needle`.
std::vector<stdfs::path> FilesHolding(const stdfs::path& dir, const std::string& needle) {
  std::vector<stdfs::path> found;
  for (const auto& entry : stdfs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && Holds(ReadFileBytes(entry.path()), needle)) {
      found.push_back(entry.path());
    }
  }
  return found;
}

class ProtectedRemoteTest : public FleetTest {
 protected:
  void SetUp() override {
    FleetTest::SetUp();
    if (IsSkipped()) return;
    ASSERT_OK_AND_ASSIGN(SealingKey wildlife, SealingKey::Generate("wildlife"));
    ASSERT_OK_AND_ASSIGN(SealingKey stranger, SealingKey::Generate("stranger"));
    key_ = std::make_shared<const SealingKey>(wildlife);
    // The nodes' keyrings go through keyring files, as `--keyring` does.
    keyring_ = SavedKeyring("wildlife.keyring", wildlife);
    stranger_keyring_ = SavedKeyring("stranger.keyring", stranger);
    ASSERT_NE(keyring_, nullptr);
    ASSERT_NE(stranger_keyring_, nullptr);
    ASSERT_OK_AND_ASSIGN(SigningKey signer, SigningKey::Generate());
    signer_ = std::make_unique<SigningKey>(std::move(signer));

    sealed_ = MarkedBytes(3 * kMiB + 12345, 41, kSealedMarker);
    open_ = MarkedBytes(2 * kMiB + 777, 42, kOpenMarker);
    ImportModel("rhino", sealed_, key_);
    ImportModel("public", open_, nullptr);
  }

  std::shared_ptr<const Keyring> SavedKeyring(const std::string& file, const SealingKey& key) {
    const stdfs::path path = tmp_.path() / file;
    EXPECT_OK(Keyring::Create(path));
    Result<Keyring> created = Keyring::Load(path);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    if (!created.ok()) return nullptr;
    EXPECT_OK(created->Add(key));
    EXPECT_OK(created->Save(path));
    Result<Keyring> loaded = Keyring::Load(path);
    EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
    if (!loaded.ok()) return nullptr;
    return std::make_shared<const Keyring>(std::move(loaded).value());
  }

  // model@1 of one file, weights.bin; sealed by `protect` when given.
  void ImportModel(const std::string& model, const std::vector<uint8_t>& bytes,
                   std::shared_ptr<const SealingKey> protect) {
    const stdfs::path source = tmp_.path() / "sources" / model;
    WriteFileBytes(source / "weights.bin", bytes);
    StoreOptions options;
    options.dir = store_dir();
    options.writer = true;
    options.keyring = keyring_;
    ASSERT_OK_AND_ASSIGN(auto store, Store::Open(options));
    ImportRequest request;
    request.model = model;
    request.version = 1;
    request.source = source;
    request.protect = std::move(protect);
    ASSERT_OK_AND_ASSIGN(ImportSummary summary, store->Import(request));
    EXPECT_EQ(summary.version.protection.has_value(), request.protect != nullptr);
  }

  // A node on the bucket whose keyring is `keyring` (none when null).
  Result<std::unique_ptr<Store>> OpenKeyedNode(const std::string& node,
                                               std::shared_ptr<const Keyring> keyring) {
    S3Options options;
    options.prefix = kPrefix;
    options.call_deadline = std::chrono::milliseconds(60'000);
    std::unique_ptr<S3Store> s3 = bucket_->Another(options, env_->settings);
    if (s3 == nullptr) return Status::IOError("no S3 store");
    NodeOptions node_options;
    node_options.remote = std::move(s3);
    node_options.keyring = std::move(keyring);
    return OpenNodeOn(std::move(node_options), node, &signer_->public_key(), uint64_t{1} << 30);
  }

  static Result<std::shared_ptr<const Recipe>> RecipeOf(Store& store, const std::string& model) {
    const VersionRecord* record = store.Catalog()->FindVersion(model, 1);
    if (record == nullptr) return Status::NotFound(model + "@1");
    ASSIGN_OR_RETURN(auto tree, store.Tree(*record));
    std::optional<uint32_t> index = tree->Find("weights.bin");
    if (!index) return Status::NotFound("weights.bin");
    return store.FileRecipe(tree->entry(*index).digest);
  }

  // A node without the key: the version and who sealed it are in its
  // catalog, but every way to its bytes is refused, and nothing it is
  // handed holds the plaintext.
  void ExpectSeesButCannotRead(Store& node) {
    const VersionRecord* record = node.Catalog()->FindVersion("rhino", 1);
    ASSERT_NE(record, nullptr) << "the protected version is not in the node's catalog";
    ASSERT_TRUE(record->protection.has_value());
    EXPECT_EQ(record->protection->key_name, "wildlife");
    EXPECT_EQ(record->protection->key_id, key_->id());
    EXPECT_EQ(record->logical_bytes, sealed_.size());

    ASSERT_OK_AND_ASSIGN(auto recipe, RecipeOf(node, "rhino"));
    ASSERT_EQ(recipe->size(), sealed_.size());
    ASSERT_FALSE(recipe->extents.empty());
    EXPECT_STATUS_CODE(StatusCode::kPermissionDenied, node.ReadChunk(recipe->extents[0].chunk));
    EXPECT_STATUS_CODE(StatusCode::kPermissionDenied, node.ReadChunk(recipe->extents.back().chunk));
    EXPECT_STATUS_CODE(StatusCode::kPermissionDenied,
                       node.StoredChunkValue(recipe->extents[0].chunk));
    // The whole file, after the hint that plans its fetches, then once more
    // (nothing it failed to open was kept to be served later).
    node.ExpectReads(*recipe, 0);
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::vector<uint8_t> out(recipe->size(), 0);
      EXPECT_STATUS_CODE(StatusCode::kPermissionDenied, node.ReadFile(*recipe, 0, out));
      EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0; }))
          << "bytes were written out of a refused read";
      std::vector<uint8_t> tail(4096, 0);
      EXPECT_STATUS_CODE(StatusCode::kPermissionDenied,
                         node.ReadFile(*recipe, recipe->size() - tail.size(), tail));
    }
    // The open model on the same node reads as usual: the refusal is the key's.
    ASSERT_OK_AND_ASSIGN(auto open, ReadVersionFile(node, "public", 1, "weights.bin"));
    EXPECT_TRUE(open == open_) << "the open model did not read back identical";
  }

  std::shared_ptr<const SealingKey> key_;
  std::shared_ptr<const Keyring> keyring_;
  std::shared_ptr<const Keyring> stranger_keyring_;
  std::unique_ptr<SigningKey> signer_;
  std::vector<uint8_t> sealed_;
  std::vector<uint8_t> open_;
};

// Every object the push left in the bucket, under the remote's prefix and
// read back through the repo's own S3 client: the protected model's marker
// is in none of them, the open model's (the control) is in its packs.
TEST_F(ProtectedRemoteTest, TheRemoteHoldsOnlyCiphertextOfAProtectedModel) {
  ASSERT_OK_AND_ASSIGN(PushSummary pushed, PushVersions({}, signer_.get()));
  EXPECT_EQ(pushed.pushed, (std::vector<std::string>{"public@1", "rhino@1"}));
  EXPECT_GE(pushed.packs_uploaded, 2u);  // 4 MiB packs

  ASSERT_OK_AND_ASSIGN(std::vector<ListedObject> objects, remote().List(""));
  ASSERT_FALSE(objects.empty());
  uint64_t bytes_scanned = 0;
  std::vector<std::string> holding_sealed;
  std::vector<std::string> holding_open;
  for (const ListedObject& object : objects) {
    ASSERT_OK_AND_ASSIGN(std::string bytes, remote().Get(object.key));
    EXPECT_EQ(bytes.size(), object.size) << object.key;
    bytes_scanned += bytes.size();
    if (Holds(bytes, kSealedMarker)) holding_sealed.push_back(object.key);
    if (Holds(bytes, kOpenMarker)) holding_open.push_back(object.key);
  }
  EXPECT_EQ(holding_sealed, std::vector<std::string>())
      << "the protected model's plaintext is on the remote";
  EXPECT_FALSE(holding_open.empty())
      << "control: the open model's marker is in no object, so the scan proves nothing";
  // All of both models went up: the scan saw at least their sizes.
  EXPECT_GE(bytes_scanned, sealed_.size() + open_.size());

  // A node with the key reads it back, byte for byte.
  ASSERT_OK_AND_ASSIGN(auto node, OpenKeyedNode("keyed", keyring_));
  ASSERT_OK_AND_ASSIGN(auto read, ReadVersionFile(*node, "rhino", 1, "weights.bin"));
  EXPECT_TRUE(read == sealed_) << "the protected model did not read back identical";
  ASSERT_OK_AND_ASSIGN(auto open, ReadVersionFile(*node, "public", 1, "weights.bin"));
  EXPECT_TRUE(open == open_);
  node.reset();
  // What the node cached of it is ciphertext too (the open model's is not).
  EXPECT_EQ(FilesHolding(cache_dir("keyed"), kSealedMarker), std::vector<stdfs::path>())
      << "the node cache holds the protected model's plaintext";
  EXPECT_FALSE(FilesHolding(cache_dir("keyed"), kOpenMarker).empty())
      << "control: the open model's marker is not in the node cache";
}

TEST_F(ProtectedRemoteTest, OnlyANodeWithTheKeyReadsAProtectedModel) {
  ASSERT_OK(PushVersions({}, signer_.get()).status());

  // With the key: byte for byte, through FileRecipe and ReadFile.
  ASSERT_OK_AND_ASSIGN(auto keyed, OpenKeyedNode("keyed", keyring_));
  const VersionRecord* record = keyed->Catalog()->FindVersion("rhino", 1);
  ASSERT_NE(record, nullptr);
  ASSERT_TRUE(record->protection.has_value());
  EXPECT_EQ(record->protection->key_name, "wildlife");
  EXPECT_EQ(record->protection->key_id, key_->id());
  EXPECT_FALSE(keyed->Catalog()->FindVersion("public", 1)->protection.has_value());
  ASSERT_OK_AND_ASSIGN(auto read, ReadVersionFile(*keyed, "rhino", 1, "weights.bin"));
  EXPECT_TRUE(read == sealed_) << "the protected model did not read back identical";
  keyed.reset();

  {
    SCOPED_TRACE("a node without a keyring");
    ASSERT_OK_AND_ASSIGN(auto node, OpenKeyedNode("keyless", nullptr));
    ExpectSeesButCannotRead(*node);
  }
  {
    SCOPED_TRACE("a node whose keyring holds another key");
    ASSERT_OK_AND_ASSIGN(auto node, OpenKeyedNode("stranger", stranger_keyring_));
    ExpectSeesButCannotRead(*node);
  }
  {
    // The keyed node's cache holds the sealed chunks now: opened without
    // the key, it refuses them from its cache as the remote's are refused.
    SCOPED_TRACE("the keyed node's cache, reopened without a keyring");
    ASSERT_OK_AND_ASSIGN(auto node, OpenKeyedNode("keyed", nullptr));
    ExpectSeesButCannotRead(*node);
  }
}

}  // namespace
}  // namespace re2po::testing
