// Protected models on a real mount: with the key (-o keyring=) a protected
// file reads byte-identical; without it the model is listed, every open is
// EACCES and the log names the missing key; damaged ciphertext is EIO.
#include <fcntl.h>

#include "store/crypto/keyring.h"
#include "store/db/db.h"
#include "tests/fs/mount_fixture.h"
#include "tests/testutil/status_testutil.h"

namespace re2po::testing {
namespace {

class ProtectedMountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_FUSE();
    ASSERT_OK_AND_ASSIGN(SealingKey key, SealingKey::Generate("wildlife"));
    key_ = std::make_shared<SealingKey>(key);
    keyring_path_ = store_.scratch() / "keyring";
    ASSERT_OK(Keyring::Create(keyring_path_));
    Keyring ring;
    ASSERT_OK(ring.Add(key));
    ASSERT_OK(ring.Save(keyring_path_));

    source_ = store_.scratch() / "source";
    secret_ = RandomBytes(3 << 20, 4417);  // random: stored raw, so findable if leaked
    WriteFileBytes(source_ / "model.bin", secret_);
    ImportRequest request;
    request.model = "rhino";
    request.version = 1;
    request.source = source_;
    request.protect = key_;
    ASSERT_OK(store_.writer().Import(request).status());
    store_.Import("open", 1, source_);
    store_.CloseWriter();
  }

  TestStore store_;
  std::shared_ptr<const SealingKey> key_;
  stdfs::path keyring_path_;
  stdfs::path source_;
  std::vector<uint8_t> secret_;
};

TEST_F(ProtectedMountTest, WithTheKeyAProtectedFileReadsLikeAnyOther) {
  TestMount mount(store_.dir(), {.fuse_options = "keyring=" + keyring_path_.string()});
  START_MOUNT(mount);
  EXPECT_EQ(Sha256Hex(mount.path("rhino/1/model.bin")), Sha256Hex(source_ / "model.bin"));
  EXPECT_EQ(Sha256Hex(mount.path("open/1/model.bin")), Sha256Hex(source_ / "model.bin"));
}

TEST_F(ProtectedMountTest, WithoutTheKeyEveryOpenIsEaccesAndTheLogNamesTheKey) {
  TestMount mount(store_.dir());
  START_MOUNT(mount);
  EXPECT_TRUE(stdfs::exists(mount.path("rhino/1/model.bin"))) << "listed, not readable";
  for (int attempt = 0; attempt < 2; ++attempt) {
    errno = 0;
    const int fd = ::open(mount.path("rhino/1/model.bin").c_str(), O_RDONLY);
    EXPECT_EQ(fd, -1);
    EXPECT_EQ(errno, EACCES);
    if (fd >= 0) ::close(fd);
  }
  EXPECT_EQ(Sha256Hex(mount.path("open/1/model.bin")), Sha256Hex(source_ / "model.bin"))
      << "open models need no key";
  const std::string log = mount.Log();
  EXPECT_NE(log.find("protected by key wildlife (id " + key_->IdHex() + ")"), std::string::npos)
      << log;
  // The access log says who tried: two refused opens, then the open read.
  const stdfs::path access_log = store_.dir() / "access" / "access.jsonl";
  auto count = [&](const std::string& needle) {
    std::ifstream in(access_log);
    size_t n = 0;
    for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos;
    return n;
  };
  EXPECT_TRUE(WaitFor([&] { return count("\"model\":\"open\"") >= 1; }));
  EXPECT_EQ(count("\"served_from\":\"refused\",\"refused\":\"no key wildlife\""), 2u);
}

TEST_F(ProtectedMountTest, DamagedCiphertextReadsAsEio) {
  // The sealed chunk holding byte 1 MiB, damaged in its stored value.
  Digest victim;
  std::string value;
  {
    StoreOptions options;
    options.dir = store_.dir();
    ASSERT_OK_AND_ASSIGN(auto reader, Store::Open(options));
    const VersionRecord* record = reader->Catalog()->FindVersion("rhino", 1);
    ASSERT_NE(record, nullptr);
    ASSERT_OK_AND_ASSIGN(auto tree, reader->Tree(*record));
    ASSERT_OK_AND_ASSIGN(auto recipe,
                         reader->FileRecipe(tree->entry(*tree->Find("model.bin")).digest));
    victim = recipe->extents[recipe->ExtentAt(1 << 20)].chunk;
    ASSERT_OK_AND_ASSIGN(value, reader->StoredChunkValue(victim));
  }
  value[value.size() - 100] ^= 0x10;
  {
    ASSERT_OK_AND_ASSIGN(auto db, Db::Open(store_.dir() / "db", Db::Mode::kWriter));
    WriteBatch batch(*db);
    batch.Put(Cf::kChunks, victim.view(), value);
    ASSERT_OK(db->Write(batch, /*durable=*/true));
    ASSERT_OK(db->FlushAll());
  }
  TestMount mount(store_.dir(), {.fuse_options = "keyring=" + keyring_path_.string()});
  START_MOUNT(mount);
  const int fd = ::open(mount.path("rhino/1/model.bin").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  std::vector<uint8_t> buffer(4096);
  ASSERT_EQ(PreadFully(fd, buffer.data(), buffer.size(), 0), 4096);
  EXPECT_EQ(std::memcmp(buffer.data(), secret_.data(), buffer.size()), 0);
  EXPECT_EQ(PreadFully(fd, buffer.data(), buffer.size(), 1 << 20), -EIO);
  ::close(fd);
  EXPECT_NE(mount.Log().find(victim.Hex()), std::string::npos) << mount.Log();
}

}  // namespace
}  // namespace re2po::testing
