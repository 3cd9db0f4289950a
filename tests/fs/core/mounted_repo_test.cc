// MountedRepository driven directly, with a real store and no FUSE: the same
// calls the callbacks make.
#include <atomic>
#include <iostream>
#include <thread>

#include "fs/core/mounted_repo.h"
#include "tests/fs/core/walk.h"
#include "tests/fs/mount_fixture.h"
#include "tests/testutil/model_files.h"

namespace re2po::fs {
namespace {
using namespace re2po::testing;

class MountedRepoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = store_.scratch() / "source";
    WriteFileText(source_ / "config.json", "{}\n");
    WriteFileBytes(source_ / "sub" / "weights.bin", RandomBytes(500000, 9));
    std::filesystem::create_symlink("sub/weights.bin", source_ / "link");
    store_.Import("model", 3, source_, {{"stage", "dev"}});
    repo_ = OpenRepo();
  }

  std::unique_ptr<MountedRepository> OpenRepo(uint64_t whole_file_readahead = 0) {
    StoreOptions options;
    options.dir = store_.dir();
    auto store = Store::Open(options);
    if (!store.ok()) throw std::runtime_error(store.status().ToString());
    RepoOptions repo_options;
    repo_options.owner = {123, 456, std::nullopt};
    repo_options.whole_file_readahead = whole_file_readahead;
    return std::make_unique<MountedRepository>(
        std::move(store).value(), std::make_unique<UsageRecorder>("", "test"), repo_options);
  }

  uint64_t Walk(const std::string& path) { return WalkPath(*repo_, path); }

  std::vector<std::string> Names(uint64_t ino) {
    auto listing = repo_->OpenDir(ino);
    if (!listing.ok()) throw std::runtime_error(listing.status().ToString());
    std::vector<std::string> names;
    for (const DirEntry& entry : **listing) names.push_back(entry.name);
    return names;
  }

  TestStore store_;
  stdfs::path source_;
  std::unique_ptr<MountedRepository> repo_;
};

TEST_F(MountedRepoTest, LooksUpListsAndReads) {
  EXPECT_EQ(Names(kRootIno), (std::vector<std::string>{".", "..", "model"}));
  EXPECT_EQ(Names(Walk("model")), (std::vector<std::string>{".", "..", "3", "latest"}));
  EXPECT_EQ(Names(Walk("model/3")),
            (std::vector<std::string>{".", "..", "config.json", "link", "sub"}));
  EXPECT_EQ(*repo_->ReadLink(Walk("model/latest")), "3");
  EXPECT_EQ(*repo_->ReadLink(Walk("model/3/link")), "sub/weights.bin");

  const uint64_t file = Walk("model/3/sub/weights.bin");
  auto attr = repo_->GetAttr(file);
  ASSERT_TRUE(attr.ok());
  EXPECT_EQ(attr->attr.st_size, 500000);
  EXPECT_EQ(attr->attr.st_uid, 123u);
  EXPECT_EQ(attr->timeout, 3600.0);
  EXPECT_EQ(repo_->GetAttr(Walk("model"))->timeout, 1.0);

  auto open = repo_->Open(file);
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  const std::vector<uint8_t> expected = RandomBytes(500000, 9);
  std::vector<uint8_t> buffer(300000);
  auto count = repo_->Read(**open, 250000, buffer);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 250000u);
  EXPECT_EQ(std::memcmp(buffer.data(), expected.data() + 250000, 250000), 0);
  EXPECT_EQ(*repo_->Read(**open, 600000, buffer), 0u);
}

TEST_F(MountedRepoTest, MissesAreNotFound) {
  const uint64_t model = Walk("model");
  for (const char* name : {"03", "4", "+3", "latest2", ""}) {
    auto entry = repo_->Lookup(model, name);
    ASSERT_FALSE(entry.ok()) << name;
    EXPECT_TRUE(entry.status().IsNotFound()) << name;
  }
  EXPECT_TRUE(repo_->Lookup(kRootIno, "nobody").status().IsNotFound());
  EXPECT_TRUE(repo_->GetAttr(987654321).status().IsNotFound());
  EXPECT_FALSE(repo_->Open(Walk("model/3/sub")).ok());
}

TEST_F(MountedRepoTest, ForgetDropsInodesTheKernelNoLongerHolds) {
  const uint64_t file = Walk("model/3/config.json");
  EXPECT_TRUE(repo_->GetAttr(file).ok());
  repo_->Forget(file, 1);
  EXPECT_TRUE(repo_->GetAttr(file).status().IsNotFound());
}

TEST_F(MountedRepoTest, XattrsOfVersionsAndFiles) {
  const uint64_t version = Walk("model/3");
  EXPECT_EQ(**repo_->GetXattr(version, "user.re2po.label.stage"), "dev");
  EXPECT_EQ(std::string(*repo_->ListXattr(version)),
            std::string("user.re2po.digest\0user.re2po.label.stage\0", 41));
  EXPECT_EQ(**repo_->GetXattr(Walk("model/3/config.json"), "user.re2po.digest"),
            Sha256Hex(source_ / "config.json"));
  EXPECT_FALSE(repo_->GetXattr(Walk("model/3/sub"), "user.re2po.digest")->has_value());
}

TEST_F(MountedRepoTest, ASignatureShowsAsAnXattrOnceSigned) {
  const uint64_t version = Walk("model/3");
  EXPECT_FALSE(repo_->GetXattr(version, "user.re2po.signature")->has_value());
  const VersionRecord record = *store_.writer().Catalog()->FindVersion("model", 3);
  VersionSignature signature{std::string(32, '\x01'), std::string(64, '\xab'), 1};
  ASSERT_TRUE(store_.writer().PutSignature(record, signature).ok());
  ASSERT_TRUE(repo_->Refresh().ok());
  auto value = repo_->GetXattr(version, "user.re2po.signature");
  ASSERT_TRUE(value.ok() && value->has_value());
  std::string key_hex, signature_hex;
  for (int i = 0; i < 32; ++i) key_hex += "01";
  for (int i = 0; i < 64; ++i) signature_hex += "ab";
  EXPECT_EQ(**value, "ed25519 " + key_hex + " " + signature_hex);
  EXPECT_NE(repo_->ListXattr(version)->find("user.re2po.signature"), std::string::npos);
  EXPECT_FALSE(repo_->GetXattr(Walk("model/3/config.json"), "user.re2po.signature")->has_value());
}

TEST_F(MountedRepoTest, RefreshShowsNewVersionsAndTellsWhatToForget) {
  const uint64_t model = Walk("model");
  store_.Import("model", 4, source_);
  auto changes = repo_->Refresh();
  ASSERT_TRUE(changes.ok()) << changes.status().ToString();
  EXPECT_FALSE(changes->empty());
  EXPECT_EQ(Names(model), (std::vector<std::string>{".", "..", "3", "4", "latest"}));
  EXPECT_EQ(*repo_->ReadLink(Walk("model/latest")), "4");
  auto again = repo_->Refresh();
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
}

// Every refresh frees the catalog snapshot before it; a call that looked a
// model up in the snapshot must hold the snapshot while it uses the entry.
// ASan reports a use after free and TSan a race if one does not.
TEST_F(MountedRepoTest, CallsRacingRefreshesKeepTheirCatalogAlive) {
  const uint64_t model = Walk("model"), latest = Walk("model/latest");
  const uint64_t version = Walk("model/3");
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> calls{0}, failures{0};
  std::vector<std::jthread> callers;
  for (int i = 0; i < 4; ++i) {
    callers.emplace_back([&] {
      while (!stop) {
        const bool ok = repo_->Lookup(kRootIno, "model").ok() && repo_->GetAttr(model).ok() &&
                        repo_->ReadLink(latest).ok() && repo_->OpenDir(version).ok() &&
                        repo_->GetAttr(kRootIno).ok();
        ++(ok ? calls : failures);
      }
    });
  }
  constexpr uint64_t kVersions = 40;
  uint64_t refreshed = 0;
  for (uint64_t v = 4; v < 4 + kVersions; ++v) {
    store_.Import("model", v, source_);
    auto changes = repo_->Refresh();
    ASSERT_TRUE(changes.ok()) << changes.status().ToString();
    refreshed += changes->empty() ? 0 : 1;
  }
  stop = true;
  callers.clear();
  std::cout << "[ figures  ] " << calls << " call rounds during " << refreshed << " refreshes\n";
  EXPECT_EQ(refreshed, kVersions);
  EXPECT_EQ(failures, 0u);
  EXPECT_GT(calls, 0u);
  EXPECT_EQ(*repo_->ReadLink(latest), std::to_string(3 + kVersions));
}

TEST_F(MountedRepoTest, OpenFileOutlivesItsVersion) {
  auto open = repo_->Open(Walk("model/3/sub/weights.bin"));
  ASSERT_TRUE(open.ok());
  ASSERT_OK(store_.writer().Remove("model", 3));
  ASSERT_TRUE(repo_->Refresh().ok());
  EXPECT_TRUE(repo_->Lookup(kRootIno, "model").status().IsNotFound());
  std::vector<uint8_t> buffer(500000);
  auto count = repo_->Read(**open, 0, buffer);
  if (count.ok()) {
    EXPECT_EQ(buffer, RandomBytes(500000, 9));
  } else {
    EXPECT_EQ(count.status().code(), StatusCode::kIOError) << count.status().ToString();
  }
}

// A sequential reader gets the chunks ahead of it fetched into the cache in
// the background; a read far from the last one fetches nothing extra (files
// above the whole-file read-ahead size, here 0).
TEST_F(MountedRepoTest, SequentialReadsFetchAheadAndRandomReadsDoNot) {
  const stdfs::path big = store_.scratch() / "big";
  const std::vector<uint8_t> bytes = RandomBytes(12 << 20, 77);
  WriteFileBytes(big / "w.bin", bytes);
  store_.Import("big", 1, big);
  repo_ = OpenRepo();
  const uint64_t file = Walk("big/1/w.bin");

  auto far = repo_->Open(file);
  ASSERT_TRUE(far.ok());
  std::vector<uint8_t> buffer(1 << 20);
  ASSERT_TRUE(repo_->Read(**far, 10 << 20, buffer).ok());  // 10 MiB from where it "was"
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(repo_->prefetcher().fetched(), 0u);

  auto sequential = repo_->Open(file);
  ASSERT_TRUE(sequential.ok());
  ASSERT_TRUE(repo_->Read(**sequential, 0, buffer).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(repo_->prefetcher().fetched(), 0u) << "one read is not yet a sequential reader";
  ASSERT_TRUE(repo_->Read(**sequential, 1 << 20, buffer).ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (repo_->prefetcher().fetched() < 16 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(repo_->prefetcher().fetched(), 16u) << "nothing was read ahead";
  // What the reader then gets is still exactly the file.
  for (uint64_t offset = 0; offset < bytes.size(); offset += buffer.size()) {
    auto count = repo_->Read(**sequential, offset, buffer);
    ASSERT_TRUE(count.ok()) << count.status().ToString();
    ASSERT_EQ(std::memcmp(buffer.data(), bytes.data() + offset, *count), 0) << offset;
  }
}

// Past the first megabytes of a long sequential read the window stops
// growing, and read-ahead must go on moving with the reader to the end of a
// file larger than any window (an LLM's shard), not stop where it first
// reached.
TEST_F(MountedRepoTest, ReadAheadFollowsASequentialReaderToTheEndOfALargeFile) {
  const stdfs::path big = store_.scratch() / "large";
  std::vector<NamedTensor> tensors;
  for (int i = 0; i < 12; ++i)
    tensors.emplace_back("t" + std::to_string(i), RandomBytes(4 << 20, i));
  const std::vector<uint8_t> bytes = SafetensorsFile(tensors);
  WriteFileBytes(big / "model.safetensors", bytes);
  store_.Import("large", 1, big);
  repo_ = OpenRepo();
  auto open = repo_->Open(Walk("large/1/model.safetensors"));
  ASSERT_TRUE(open.ok());
  const size_t chunks = (*open)->recipe->extents.size();
  ASSERT_GE(chunks, 48u) << "tensors are cut into pieces of at most 1 MiB";
  std::vector<uint8_t> buffer(128 << 10);  // the kernel's read size without max_pages
  for (uint64_t offset = 0; offset < bytes.size(); offset += buffer.size()) {
    ASSERT_TRUE(repo_->Read(**open, offset, buffer).ok());
  }
  // Each chunk is queued once as the window passes it; the first two reads
  // come before a run starts.
  EXPECT_GE(repo_->prefetcher().counters().queued + 2, chunks)
      << "read-ahead stopped before the end of the file";
}

// A file up to whole_file_readahead is fetched whole from its first read,
// wherever that read is (a zip reader starts at the end); a second open
// file of it queues nothing new, and the bytes read are still exact.
TEST_F(MountedRepoTest, TheFirstReadOfAModelSizedFileFetchesAllOfIt) {
  const stdfs::path model = store_.scratch() / "model";
  const std::vector<uint8_t> bytes = RandomBytes(12 << 20, 78);
  WriteFileBytes(model / "m.pt", bytes);
  store_.Import("pt", 1, model);
  repo_ = OpenRepo(/*whole_file_readahead=*/16 << 20);
  auto recipe = repo_->store().FileRecipe(Sha256Of(std::span<const uint8_t>(bytes)));
  ASSERT_TRUE(recipe.ok()) << recipe.status().ToString();
  const uint64_t chunks = (*recipe)->extents.size();
  const uint64_t file = Walk("pt/1/m.pt");
  auto open = repo_->Open(file);
  ASSERT_TRUE(open.ok());
  std::vector<uint8_t> tail(4096);
  ASSERT_TRUE(repo_->Read(**open, bytes.size() - tail.size(), tail).ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (repo_->prefetcher().fetched() + 1 < chunks &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // The reader's own chunk may be fetched by the reader or by the prefetcher.
  EXPECT_GE(repo_->prefetcher().fetched() + 1, chunks) << "one read: the rest is ahead";
  EXPECT_LE(repo_->prefetcher().fetched(), chunks);
  EXPECT_EQ(std::memcmp(tail.data(), bytes.data() + bytes.size() - tail.size(), tail.size()), 0);
  std::vector<uint8_t> buffer(1 << 20);
  for (uint64_t offset = 0; offset < bytes.size(); offset += buffer.size()) {
    auto count = repo_->Read(**open, offset, buffer);
    ASSERT_TRUE(count.ok()) << count.status().ToString();
    ASSERT_EQ(std::memcmp(buffer.data(), bytes.data() + offset, *count), 0) << offset;
  }

  // Past the size, the first read fetches nothing ahead.
  repo_ = OpenRepo(/*whole_file_readahead=*/8 << 20);
  auto big = repo_->Open(Walk("pt/1/m.pt"));
  ASSERT_TRUE(big.ok());
  ASSERT_TRUE(repo_->Read(**big, 0, tail).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(repo_->prefetcher().fetched(), 0u);
}

}  // namespace
}  // namespace re2po::fs
