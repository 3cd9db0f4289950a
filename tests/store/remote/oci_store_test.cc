// The OCI registry store against a real registry (Distribution 2.8 on
// loopback, one per test): blobs by digest with ranged reads and chunked
// uploads, named objects as tagged manifests, cross-repository mounts,
// credentials from an auth file, and redirects to object storage.
#include <nlohmann/json.hpp>

#include "store/base/digest.h"
#include "store/remote/oci_store.h"
#include "tests/store/remote/registry_test_env.h"

namespace re2po::testing {
namespace {

std::string Bytes(size_t size, uint64_t seed) {
  const std::vector<uint8_t> bytes = RandomBytes(size, seed);
  return std::string(bytes.begin(), bytes.end());
}

std::string PackKey(const std::string& bytes) { return "packs/" + Sha256Of(bytes).Hex(); }

class OciStoreTest : public ::testing::Test {
 protected:
  void StartRegistry(const RegistryMode& mode = {}) {
    std::string why_not;
    registry_ = TestRegistry::Start(tmp_.path() / "registry", mode, why_not);
    ASSERT_NE(registry_, nullptr) << why_not;
  }

  std::unique_ptr<OciStore> Open(const std::string& url, OciOptions options = {}) {
    auto location = ParseOciUrl(url);
    EXPECT_TRUE(location.ok()) << location.status().ToString();
    if (!location.ok()) return nullptr;
    options.call_deadline = std::chrono::milliseconds(30'000);
    options.tag_aliases = {{"head", "catalog"}};
    auto store = OpenOciStore(*location, options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // Only REGISTRY_AUTH_FILE is searched, and it names no registry: a store
  // opened now is anonymous.
  Status PutWithoutCredentials(const std::string& repository, const std::string& bytes) {
    setenv("HOME", tmp_.path().c_str(), 1);
    unsetenv("XDG_RUNTIME_DIR");
    unsetenv("DOCKER_CONFIG");
    const auto empty = tmp_.path() / "empty-auth.json";
    { std::ofstream(empty) << "{\"auths\": {}}\n"; }
    setenv("REGISTRY_AUTH_FILE", empty.c_str(), 1);
    auto anonymous = Open(registry_->url(repository));
    if (anonymous == nullptr) return Status::IOError("no store");
    return anonymous->Put(PackKey(bytes), bytes);
  }

  // A GET of the registry's API, as a client that is not re2po sees it.
  nlohmann::json ApiJson(const std::string& path, const std::string& accept = "") {
    CommandResult got = RunCommand("curl -sS --max-time 20 " +
                                   (accept.empty() ? "" : "-H " + ShellQuote("Accept: " + accept)) +
                                   " " + ShellQuote(registry_->base_url() + path));
    EXPECT_EQ(got.exit_code, 0) << got.err;
    return nlohmann::json::parse(got.out, nullptr, false);
  }

  TempDir tmp_;
  std::unique_ptr<TestRegistry> registry_;
};

TEST_F(OciStoreTest, BlobsAreStoredByDigestAndReadWholeOrByRange) {
  REQUIRE_REGISTRY_PACKAGE();
  StartRegistry();
  auto store = Open(registry_->url("models/blobs"));
  ASSERT_NE(store, nullptr);
  const std::string pack = Bytes(300'000, 1);
  const std::string key = PackKey(pack);

  ASSERT_OK_AND_ASSIGN(std::optional<uint64_t> absent, store->Size(key));
  EXPECT_FALSE(absent.has_value());
  EXPECT_TRUE(store->Get(key).status().IsNotFound());
  ASSERT_OK(store->Put(key, pack));
  ASSERT_OK_AND_ASSIGN(std::optional<uint64_t> size, store->Size(key));
  EXPECT_EQ(size, pack.size());
  ASSERT_OK_AND_ASSIGN(std::string whole, store->Get(key));
  EXPECT_EQ(whole, pack);
  ASSERT_OK_AND_ASSIGN(std::string range, store->GetRange(key, 12'345, 67'890));
  EXPECT_EQ(range, pack.substr(12'345, 67'890));
  EXPECT_EQ(store->GetRange(key, pack.size() - 10, 20).status().code(),
            StatusCode::kInvalidArgument);
  // A name that is not the bytes' digest is refused before anything is sent.
  const uint64_t requests = store->counters().requests;
  EXPECT_EQ(store->Put(PackKey("other bytes"), pack).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->counters().requests, requests);
}

TEST_F(OciStoreTest, ALargeBlobGoesUpInChunks) {
  REQUIRE_REGISTRY_PACKAGE();
  StartRegistry();
  OciOptions options;
  options.upload_chunk_bytes = 64 << 10;
  auto store = Open(registry_->url("models/chunked"), options);
  ASSERT_NE(store, nullptr);
  const std::string pack = Bytes(300'000, 2);
  ASSERT_OK(store->Put(PackKey(pack), pack));
  EXPECT_EQ(store->oci_counters().chunked_uploads, 1u);
  // POST, five PATCHes of 64 KiB or less, PUT: seven requests at least.
  EXPECT_GE(store->counters().requests, 7u);
  ASSERT_OK_AND_ASSIGN(std::string back,
                       Open(registry_->url("models/chunked"))->Get(PackKey(pack)));
  EXPECT_EQ(back, pack);
}

TEST_F(OciStoreTest, NamedObjectsAreTaggedManifestsListedInOrder) {
  REQUIRE_REGISTRY_PACKAGE();
  StartRegistry();
  OciOptions options;
  options.list_page_size = 2;  // several pages
  auto store = Open(registry_->url("models/named"), options);
  ASSERT_NE(store, nullptr);
  ASSERT_OK_AND_ASSIGN(auto nothing, store->List("log/"));
  EXPECT_TRUE(nothing.empty());

  for (const char* name : {"log/0003-c", "log/0001-a", "log/0002-b"}) {
    ASSERT_OK(store->Put(name, std::string("record ") + name));
  }
  ASSERT_OK(store->Put("head", "head one"));
  ASSERT_OK_AND_ASSIGN(auto listed, store->List("log/"));
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0].key, "log/0001-a");
  EXPECT_EQ(listed[2].key, "log/0003-c");
  ASSERT_OK_AND_ASSIGN(std::string record, store->Get("log/0002-b"));
  EXPECT_EQ(record, "record log/0002-b");

  // The head is the tag "catalog"; unchanged, it costs one 304.
  ASSERT_OK_AND_ASSIGN(auto head, store->GetIfChanged("head", ""));
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->bytes, "head one");
  ASSERT_OK_AND_ASSIGN(auto same, store->GetIfChanged("head", head->etag));
  EXPECT_FALSE(same.has_value());
  ASSERT_OK(store->Put("head", "head two"));
  ASSERT_OK_AND_ASSIGN(auto changed, store->GetIfChanged("head", head->etag));
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ(changed->bytes, "head two");
  EXPECT_NE(changed->etag, head->etag);

  const nlohmann::json tags = ApiJson("/v2/models/named/tags/list");
  ASSERT_TRUE(tags.contains("tags")) << tags.dump();
  std::set<std::string> tag_set(tags["tags"].begin(), tags["tags"].end());
  EXPECT_EQ(tag_set, (std::set<std::string>{"catalog", "log-0001-a", "log-0002-b", "log-0003-c"}));

  ASSERT_OK(store->Delete("log/0002-b"));
  ASSERT_OK(store->Delete("log/0002-b"));  // gone already: fine
  ASSERT_OK_AND_ASSIGN(listed, store->List("log/"));
  EXPECT_EQ(listed.size(), 2u);
  EXPECT_EQ(store->List("packs/x/").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(OciStoreTest, AVersionIsAManifestWhoseConfigIsItsObjectAndWhoseLayersAreItsPacks) {
  REQUIRE_REGISTRY_PACKAGE();
  StartRegistry();
  auto store = Open(registry_->url("models/versions"));
  ASSERT_NE(store, nullptr);
  const std::string pack_a = Bytes(50'000, 3), pack_b = Bytes(70'000, 4), object = Bytes(900, 5);
  ASSERT_OK(store->Put(PackKey(pack_a), pack_a));
  ASSERT_OK(store->Put(PackKey(pack_b), pack_b));
  const std::string object_key = "versions/" + Sha256Of(object).Hex();
  ASSERT_OK(store->Put(object_key, object));
  VersionReferences version{"resnet-pets", 3, object_key, {PackKey(pack_a), PackKey(pack_b)}};
  ASSERT_OK(store->RecordVersion(version));

  const nlohmann::json manifest =
      ApiJson("/v2/models/versions/manifests/resnet-pets.v3", std::string(kOciManifestType));
  ASSERT_FALSE(manifest.is_discarded());
  EXPECT_EQ(manifest["artifactType"], kRe2poVersionType);
  EXPECT_EQ(manifest["config"]["digest"], "sha256:" + Sha256Of(object).Hex());
  EXPECT_EQ(manifest["config"]["size"], object.size());
  ASSERT_EQ(manifest["layers"].size(), 2u);
  EXPECT_EQ(manifest["layers"][0]["digest"], "sha256:" + Sha256Of(pack_a).Hex());
  EXPECT_EQ(manifest["layers"][1]["size"], pack_b.size());
  EXPECT_EQ(manifest["annotations"]["org.opencontainers.image.title"], "resnet-pets@3");
  // A version whose pack is not there is refused, not recorded.
  VersionReferences broken{"broken", 1, object_key, {PackKey("never stored")}};
  EXPECT_TRUE(store->RecordVersion(broken).IsNotFound());
}

TEST_F(OciStoreTest, ABlobTheRegistryHasInAnotherRepositoryIsMountedNotSent) {
  REQUIRE_REGISTRY_PACKAGE();
  StartRegistry();
  const std::string backbone = Bytes(400'000, 6);
  auto base = Open(registry_->url("models/backbone"));
  ASSERT_NE(base, nullptr);
  ASSERT_OK(base->Put(PackKey(backbone), backbone));

  auto tuned = Open(registry_->url("models/tuned?mount-from=models/elsewhere,models/backbone"));
  ASSERT_NE(tuned, nullptr);
  ASSERT_OK(tuned->Put(PackKey(backbone), backbone));
  EXPECT_EQ(tuned->oci_counters().blobs_mounted, 1u);
  EXPECT_EQ(tuned->counters().bytes_sent, 0u) << "the blob was uploaded again";
  ASSERT_OK_AND_ASSIGN(std::string back,
                       Open(registry_->url("models/tuned"))->Get(PackKey(backbone)));
  EXPECT_EQ(back, backbone);
  // A blob no source has is uploaded as usual.
  const std::string fresh = Bytes(10'000, 7);
  ASSERT_OK(tuned->Put(PackKey(fresh), fresh));
  EXPECT_EQ(tuned->oci_counters().blobs_mounted, 1u);
  EXPECT_GE(tuned->counters().bytes_sent, fresh.size());
}

TEST_F(OciStoreTest, CredentialsComeFromTheAuthFileAndNeverShowInMessages) {
  REQUIRE_REGISTRY_PACKAGE();
  RegistryMode mode;
  mode.htpasswd = true;
  StartRegistry(mode);
  ASSERT_FALSE(registry_->password().empty());
  const std::string pack = Bytes(20'000, 8);
  // Nothing names the registry: refused, saying where credentials go.
  Status refused = PutWithoutCredentials("models/private", pack);
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied) << refused.ToString();
  EXPECT_NE(refused.message().find("REGISTRY_AUTH_FILE"), std::string::npos) << refused.ToString();

  // A wrong password: refused, and the message names the file, not the secret.
  setenv("REGISTRY_AUTH_FILE",
         registry_->WriteAuthFile(tmp_.path() / "wrong.json", "not-the-password").c_str(), 1);
  auto wrong = Open(registry_->url("models/private"));
  ASSERT_NE(wrong, nullptr);
  Status denied = wrong->Put(PackKey(pack), pack);
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied) << denied.ToString();
  EXPECT_NE(denied.message().find("wrong.json"), std::string::npos) << denied.ToString();
  EXPECT_EQ(denied.message().find("not-the-password"), std::string::npos);

  setenv("REGISTRY_AUTH_FILE",
         registry_->WriteAuthFile(tmp_.path() / "auth.json", registry_->password()).c_str(), 1);
  auto authorised = Open(registry_->url("models/private"));
  ASSERT_NE(authorised, nullptr);
  ASSERT_OK(authorised->Put(PackKey(pack), pack));
  ASSERT_OK_AND_ASSIGN(std::string back, authorised->GetRange(PackKey(pack), 100, 1000));
  EXPECT_EQ(back, pack.substr(100, 1000));
  EXPECT_EQ(authorised->Describe().find(registry_->password()), std::string::npos);
}

TEST_F(OciStoreTest, ABearerTokenComesFromTheRealmTheRegistryNamesAndIsKept) {
  REQUIRE_REGISTRY_PACKAGE();
  RegistryMode mode;
  mode.token = true;
  StartRegistry(mode);
  const std::string pack = Bytes(30'000, 10);
  // Without credentials the token service refuses, and the call says so.
  Status refused = PutWithoutCredentials("models/tokens", pack);
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied) << refused.ToString();
  EXPECT_NE(refused.message().find("for a token"), std::string::npos) << refused.ToString();

  setenv("REGISTRY_AUTH_FILE",
         registry_->WriteAuthFile(tmp_.path() / "auth.json", registry_->password()).c_str(), 1);
  const auto TokenRequests = [&] {
    std::ifstream in(registry_->token_log());
    size_t count = 0;
    for (std::string line; std::getline(in, line);) {
      count +=
          line.find("GET /token") != std::string::npos && line.find(" 200 ") != std::string::npos;
    }
    return count;
  };
  const size_t before = TokenRequests();
  auto authorised = Open(registry_->url("models/tokens"));
  ASSERT_NE(authorised, nullptr);
  ASSERT_OK(authorised->Put(PackKey(pack), pack));
  ASSERT_OK_AND_ASSIGN(std::string back, authorised->GetRange(PackKey(pack), 10, 20'000));
  EXPECT_EQ(back, pack.substr(10, 20'000));
  ASSERT_OK(authorised->Put("head", "a head"));
  ASSERT_OK_AND_ASSIGN(std::string head, authorised->Get("head"));
  EXPECT_EQ(head, "a head");
  // One token for the repository's pull and push, kept for every call.
  EXPECT_EQ(TokenRequests() - before, 1u);
  EXPECT_EQ(registry_->LogText().find(registry_->password()), std::string::npos);
}

TEST_F(OciStoreTest, ARegistryOnObjectStorageRedirectsAndTheLocationIsReused) {
  REQUIRE_REGISTRY_PACKAGE();
  std::string why_not;
  std::optional<CephEnv> ceph = FindCeph(why_not);
  if (!ceph) GTEST_SKIP() << why_not;
  CephBucket bucket(*ceph, "registry");  // removed, with what the registry put there, at the end
  RegistryMode mode;
  mode.ceph = ceph->dir;
  mode.bucket = bucket.options().bucket;
  StartRegistry(mode);
  auto store = Open(registry_->url("models/redirected"));
  ASSERT_NE(store, nullptr);
  const std::string pack = Bytes(200'000, 9);
  ASSERT_OK(store->Put(PackKey(pack), pack));

  auto node = Open(registry_->url("models/redirected"));
  ASSERT_NE(node, nullptr);
  ASSERT_OK_AND_ASSIGN(std::string first, node->GetRange(PackKey(pack), 1000, 5000));
  EXPECT_EQ(first, pack.substr(1000, 5000));
  ASSERT_OK_AND_ASSIGN(std::string second, node->GetRange(PackKey(pack), 150'000, 50'000));
  EXPECT_EQ(second, pack.substr(150'000, 50'000));
  EXPECT_EQ(node->oci_counters().redirects, 1u);
  EXPECT_EQ(node->oci_counters().redirects_reused, 1u);
  // Three requests: the registry's redirect, then two straight to RGW.
  EXPECT_EQ(node->counters().requests, 3u);
}

}  // namespace
}  // namespace re2po::testing
