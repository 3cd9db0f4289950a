// Sealing keys and keyrings: names that depend on the key, values that open
// only under their key and their name, keyring files that stay private.
#include "store/crypto/sealing_key.h"

#include <sys/stat.h>

#include <fstream>

#include "store/crypto/keyring.h"
#include "tests/testutil/status_testutil.h"

namespace re2po {
namespace {

using testing::TempDir;

std::span<const uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

TEST(SealingKeyTest, NamesDependOnTheKeyAndNeverEqualTheBareDigest) {
  ASSERT_OK_AND_ASSIGN(SealingKey key, SealingKey::Generate("wildlife"));
  ASSERT_OK_AND_ASSIGN(SealingKey other, SealingKey::Generate("other"));
  const std::string tensor(4096, 'w');
  EXPECT_EQ(key.NameOf(AsBytes(tensor)), key.NameOf(AsBytes(tensor)));
  EXPECT_NE(key.NameOf(AsBytes(tensor)), other.NameOf(AsBytes(tensor)));
  EXPECT_NE(key.NameOf(AsBytes(tensor)), Sha256Of(std::string_view(tensor)));
  EXPECT_NE(key.id(), other.id());
  EXPECT_EQ(key.id().size(), kKeyIdSize);
  // The same secret is the same key, whatever it is called.
  ASSERT_OK_AND_ASSIGN(SealingKey again, SealingKey::FromSecret("renamed", key.secret(), 0));
  EXPECT_EQ(again.id(), key.id());
  EXPECT_EQ(again.NameOf(AsBytes(tensor)), key.NameOf(AsBytes(tensor)));
}

TEST(SealingKeyTest, ASealedValueOpensOnlyUnchangedUnderItsKeyAndName) {
  ASSERT_OK_AND_ASSIGN(SealingKey key, SealingKey::Generate("wildlife"));
  const std::string plaintext = "the locations of the last 40 rhinos, in float32";
  const Digest name = key.NameOf(AsBytes(plaintext));
  const std::string sealed = key.Seal(name, plaintext);
  EXPECT_EQ(sealed.size(), plaintext.size() + kSealOverhead);
  EXPECT_EQ(sealed.find("rhinos"), std::string::npos);
  std::string buffer;
  ASSERT_OK_AND_ASSIGN(std::string_view opened, key.Open(name, sealed, buffer));
  EXPECT_EQ(opened, plaintext);
  // Two seals of one value differ (fresh nonces) and both open.
  EXPECT_NE(key.Seal(name, plaintext), sealed);

  for (size_t at :
       {size_t{kKeyIdSize}, size_t{kKeyIdSize + kSealNonceSize + 3}, sealed.size() - 1}) {
    std::string damaged = sealed;
    damaged[at] ^= 0x20;
    EXPECT_STATUS_CODE(StatusCode::kCorruption, key.Open(name, damaged, buffer)) << at;
  }
  Digest elsewhere = name;
  elsewhere.bytes[0] ^= 1;
  EXPECT_STATUS_CODE(StatusCode::kCorruption, key.Open(elsewhere, sealed, buffer));
  ASSERT_OK_AND_ASSIGN(SealingKey other, SealingKey::Generate("other"));
  EXPECT_STATUS_CODE(StatusCode::kInvalidArgument, other.Open(name, sealed, buffer));
  EXPECT_STATUS_CODE(StatusCode::kCorruption, key.Open(name, sealed.substr(0, 20), buffer));
}

TEST(KeyringTest, KeepsKeysInAPrivateFileAndFindsThemByNameAndId) {
  TempDir dir;
  const auto path = dir.path() / "ring";
  ASSERT_OK(Keyring::Create(path));
  EXPECT_STATUS_CODE(StatusCode::kAlreadyExists, Keyring::Create(path));
  ASSERT_OK_AND_ASSIGN(Keyring ring, Keyring::Load(path));
  EXPECT_TRUE(ring.keys().empty());
  ASSERT_OK_AND_ASSIGN(SealingKey wildlife, SealingKey::Generate("wildlife"));
  ASSERT_OK_AND_ASSIGN(SealingKey medical, SealingKey::Generate("medical.v2"));
  ASSERT_OK(ring.Add(wildlife));
  ASSERT_OK(ring.Add(medical));
  EXPECT_STATUS_CODE(StatusCode::kAlreadyExists, ring.Add(wildlife));
  ASSERT_OK(ring.Save(path));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  ASSERT_OK_AND_ASSIGN(Keyring loaded, Keyring::Load(path));
  ASSERT_EQ(loaded.keys().size(), 2u);
  ASSERT_OK_AND_ASSIGN(const SealingKey* found, loaded.Find("wildlife"));
  EXPECT_EQ(found->id(), wildlife.id());
  EXPECT_EQ(found->created_ns(), wildlife.created_ns());
  EXPECT_EQ(loaded.FindById(medical.id())->name(), "medical.v2");
  EXPECT_EQ(loaded.FindById(std::string(kKeyIdSize, 'x')), nullptr);
  Result<const SealingKey*> missing = loaded.Find("poachers");
  EXPECT_STATUS_CODE(StatusCode::kNotFound, missing);
  EXPECT_NE(missing.status().message().find("wildlife, medical.v2"), std::string::npos);
}

TEST(KeyringTest, RefusesAFileOthersMayReadAndFilesThatAreNotKeyrings) {
  TempDir dir;
  const auto path = dir.path() / "ring";
  ASSERT_OK(Keyring::Create(path));
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  Result<Keyring> open = Keyring::Load(path);
  EXPECT_STATUS_CODE(StatusCode::kPermissionDenied, open);
  EXPECT_NE(open.status().message().find("chmod 600"), std::string::npos);

  const auto junk = dir.path() / "junk";
  std::ofstream(junk) << "key wildlife 00 0\n";
  ASSERT_EQ(::chmod(junk.c_str(), 0600), 0);
  EXPECT_STATUS_CODE(StatusCode::kCorruption, Keyring::Load(junk));
  const auto short_secret = dir.path() / "short";
  std::ofstream(short_secret) << "re2po-keyring 1\nkey wildlife abcd 0\n";
  ASSERT_EQ(::chmod(short_secret.c_str(), 0600), 0);
  EXPECT_STATUS_CODE(StatusCode::kCorruption, Keyring::Load(short_secret));
  EXPECT_STATUS_CODE(StatusCode::kInvalidArgument, ValidateKeyName("../etc"));
  EXPECT_STATUS_CODE(StatusCode::kInvalidArgument, ValidateKeyName(""));
  EXPECT_OK(ValidateKeyName("wildlife-2026.a_b"));
}

}  // namespace
}  // namespace re2po
