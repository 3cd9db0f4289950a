// What the fleet tests share: a local store to publish from, a fresh
// bucket on the Ceph that the ctest fixture started (or, for fixtures that
// set on_registry_, a fresh OCI registry of their own), nodes opened on it
// with caches of their own, and the environment re2po processes need.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/fleet/node_store.h"
#include "store/fleet/pusher.h"
#include "store/store.h"
#include "tests/store/remote/registry_test_env.h"
#include "tests/store/remote/remote_test_env.h"
#include "tests/testutil/model_files.h"

namespace re2po::testing {

namespace stdfs = std::filesystem;
using SourceFiles = std::map<std::string, std::vector<uint8_t>>;

class FleetTest : public ::testing::Test {
 protected:
  static constexpr const char* kPrefix = "models";

  void SetUp() override {
    std::string why_not;
    if (on_registry_) {
      REQUIRE_REGISTRY_PACKAGE();
      registry_ = TestRegistry::Start(tmp_.path() / "registry", {}, why_not);
      ASSERT_NE(registry_, nullptr) << why_not;
      ASSERT_OK_AND_ASSIGN(OciLocation location, ParseOciUrl(url()));
      ASSERT_OK_AND_ASSIGN(registry_store_, OpenOciStore(location, RegistryOptions()));
      ASSERT_OK(Store::Init(store_dir()));
      return;
    }
    std::optional<CephEnv> env = FindCeph(why_not);
    if (!env) GTEST_SKIP() << why_not;
    env_ = *env;
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    S3Options options;
    options.prefix = kPrefix;
    bucket_ = std::make_unique<CephBucket>(*env_, test->name(), options);
    ASSERT_OK(bucket_->store().EnsureBucket());
    ASSERT_OK(Store::Init(store_dir()));
  }

  stdfs::path store_dir() const { return tmp_.path() / "store"; }
  stdfs::path cache_dir(const std::string& node) const { return tmp_.path() / "nodes" / node; }
  std::string url() const {
    if (on_registry_) return registry_->url(kPrefix + std::string("/fleet"));
    return "s3://" + bucket_->options().bucket + "/" + kPrefix;
  }
  ObjectStore& remote() {
    if (on_registry_) return *registry_store_;
    return bucket_->store();
  }
  static OciOptions RegistryOptions() {
    OciOptions options;
    options.call_deadline = std::chrono::milliseconds(60'000);
    options.tag_aliases = {{"head", "catalog"}};
    return options;
  }

  // Imports `files` (relative path -> bytes) as model@version.
  void Import(const std::string& model, uint64_t version, const SourceFiles& files) {
    const stdfs::path source = tmp_.path() / "sources" / (model + "@" + std::to_string(version));
    for (const auto& [path, bytes] : files) WriteFileBytes(source / path, bytes);
    StoreOptions options;
    options.dir = store_dir();
    options.writer = true;
    auto store = Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ImportRequest request;
    request.model = model;
    request.version = version;
    request.source = source;
    auto imported = (*store)->Import(request);
    ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  }

  void SetAccess(const std::string& model, const ModelAccess& access) {
    StoreOptions options;
    options.dir = store_dir();
    options.writer = true;
    auto store = Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    Status set = (*store)->SetModelAccess(model, access);
    ASSERT_TRUE(set.ok()) << set.ToString();
  }

  Result<PushSummary> PushVersions(const std::vector<std::string>& refs, const SigningKey* key) {
    StoreOptions options;
    options.dir = store_dir();
    ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(options));
    PushOptions push;
    for (const std::string& ref : refs) {
      ASSIGN_OR_RETURN(VersionRef parsed, ParseVersionRef(ref));
      push.refs.push_back(parsed);
    }
    push.key = key;
    push.pack_bytes = uint64_t{4} << 20;  // several packs even for small models
    return Push(*store, remote(), push);
  }

  // A node on the bucket; `endpoint` replaces Ceph's (a dead one, say).
  // `counters`, when given, is pointed at the node's own request counts.
  Result<std::unique_ptr<Store>> OpenNode(const std::string& node, const PublicKey* trust,
                                          uint64_t cache_max_bytes = uint64_t{1} << 30,
                                          const std::string& endpoint = "",
                                          const ObjectStoreCounters** counters = nullptr) {
    if (on_registry_) return OpenRegistryNode(node, trust, cache_max_bytes, counters);
    S3Options options;
    options.prefix = kPrefix;
    options.call_deadline = std::chrono::milliseconds(endpoint.empty() ? 60'000 : 2'000);
    AwsSettings settings = env_->settings;
    if (!endpoint.empty()) settings.endpoint = endpoint;
    std::unique_ptr<S3Store> s3 = bucket_->Another(options, settings);
    if (s3 == nullptr) return Status::IOError("no S3 store");
    if (counters != nullptr) *counters = &s3->counters();
    NodeOptions node_options;
    node_options.remote = std::move(s3);
    return OpenNodeOn(std::move(node_options), node, trust, cache_max_bytes);
  }

  Result<std::unique_ptr<Store>> OpenRegistryNode(const std::string& node, const PublicKey* trust,
                                                  uint64_t cache_max_bytes,
                                                  const ObjectStoreCounters** counters) {
    ASSIGN_OR_RETURN(OciLocation location, ParseOciUrl(url()));
    ASSIGN_OR_RETURN(std::unique_ptr<OciStore> oci, OpenOciStore(location, RegistryOptions()));
    if (counters != nullptr) *counters = &oci->counters();
    NodeOptions node_options;
    node_options.remote = std::move(oci);
    return OpenNodeOn(std::move(node_options), node, trust, cache_max_bytes);
  }

  Result<std::unique_ptr<Store>> OpenNodeOn(NodeOptions node_options, const std::string& node,
                                            const PublicKey* trust, uint64_t cache_max_bytes) {
    node_options.cache_dir = cache_dir(node);
    node_options.cache_max_bytes = cache_max_bytes;
    node_options.memory_cache_bytes = size_t{8} << 20;  // reads reach the node cache
    node_options.poll_every = std::chrono::milliseconds(0);
    if (trust != nullptr) {
      ASSIGN_OR_RETURN(PublicKey copy, PublicKey::FromRaw(trust->raw()));
      node_options.trust = std::move(copy);
    }
    return OpenNodeStore(std::move(node_options));
  }

  // A whole file of a version, read through the store.
  static Result<std::vector<uint8_t>> ReadVersionFile(Store& store, const std::string& model,
                                                      uint64_t version, const std::string& path) {
    const VersionRecord* record = store.Catalog()->FindVersion(model, version);
    if (record == nullptr) return Status::NotFound(model + "@" + std::to_string(version));
    ASSIGN_OR_RETURN(auto tree, store.Tree(*record));
    std::optional<uint32_t> index = tree->Find(path);
    if (!index) return Status::NotFound(path);
    ASSIGN_OR_RETURN(auto recipe, store.FileRecipe(tree->entry(*index).digest));
    std::vector<uint8_t> bytes(recipe->size());
    ASSIGN_OR_RETURN(size_t got, store.ReadFile(*recipe, 0, bytes));
    if (got != bytes.size()) return Status::Corruption("short read");
    return bytes;
  }

  // What a re2po process needs in its environment to reach the Ceph.
  std::string S3Environment() const {
    if (!env_) return "env -u AWS_CA_BUNDLE -u AWS_PROFILE -u REGISTRY_AUTH_FILE ";
    const auto& settings = env_->settings;
    return "env -u AWS_CA_BUNDLE -u AWS_PROFILE AWS_ACCESS_KEY_ID=" +
           settings.credentials.access_key_id +
           " AWS_SECRET_ACCESS_KEY=" + settings.credentials.secret_access_key +
           " AWS_ENDPOINT_URL=" + settings.endpoint + " AWS_REGION=" + settings.region + " ";
  }

  bool on_registry_ = false;  // set in a derived fixture's constructor
  std::optional<CephEnv> env_;
  std::unique_ptr<CephBucket> bucket_;

  TempDir tmp_;
  // After tmp_: stopped (by the pid file under tmp_) before tmp_ goes.
  std::unique_ptr<TestRegistry> registry_;
  std::unique_ptr<OciStore> registry_store_;
};

// A model file of `tensors` tensors of `tensor_bytes` each, from `seed`.
inline std::vector<uint8_t> ModelFile(uint64_t seed, size_t tensors, size_t tensor_bytes) {
  std::vector<NamedTensor> named;
  for (size_t i = 0; i < tensors; ++i) {
    named.emplace_back("layer" + std::to_string(i) + ".weight",
                       RandomBytes(tensor_bytes, seed * 1000 + i));
  }
  return SafetensorsFile(named);
}

}  // namespace re2po::testing
