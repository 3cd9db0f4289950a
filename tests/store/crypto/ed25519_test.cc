// ed25519 keys: generated, saved as a PEM pair, loaded back, signatures
// that verify only for their message and their key.
#include "store/crypto/ed25519.h"

#include <sys/stat.h>

#include "tests/testutil/status_testutil.h"

namespace re2po {
namespace {

using testing::TempDir;

TEST(Ed25519Test, SignsAndVerifiesOnlyItsOwnMessages) {
  ASSERT_OK_AND_ASSIGN(SigningKey key, SigningKey::Generate());
  ASSERT_OK_AND_ASSIGN(std::string signature, key.Sign("catalog bytes"));
  EXPECT_EQ(signature.size(), kEd25519SignatureSize);
  EXPECT_TRUE(key.public_key().Verify("catalog bytes", signature));
  EXPECT_FALSE(key.public_key().Verify("catalog bytez", signature));
  signature[10] ^= 1;
  EXPECT_FALSE(key.public_key().Verify("catalog bytes", signature));
  EXPECT_FALSE(key.public_key().Verify("catalog bytes", ""));
  ASSERT_OK_AND_ASSIGN(SigningKey other, SigningKey::Generate());
  ASSERT_OK_AND_ASSIGN(std::string theirs, other.Sign("catalog bytes"));
  EXPECT_FALSE(key.public_key().Verify("catalog bytes", theirs));
  EXPECT_NE(key.public_key().Id(), other.public_key().Id());
  EXPECT_EQ(key.public_key().Id().size(), 16u);
}

TEST(Ed25519Test, SavesAPrivateFileAndAPublicFileAndLoadsThemBack) {
  TempDir dir;
  const auto path = dir.path() / "publisher";
  ASSERT_OK_AND_ASSIGN(SigningKey key, SigningKey::Generate());
  ASSERT_OK(key.Save(path));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_OK_AND_ASSIGN(SigningKey loaded, SigningKey::Load(path));
  ASSERT_OK_AND_ASSIGN(PublicKey trusted, PublicKey::Load(path.string() + ".pub"));
  EXPECT_EQ(loaded.public_key().raw(), key.public_key().raw());
  EXPECT_EQ(trusted.raw(), key.public_key().raw());
  ASSERT_OK_AND_ASSIGN(std::string signature, loaded.Sign("m"));
  EXPECT_TRUE(trusted.Verify("m", signature));
  // Never overwrites a key.
  EXPECT_STATUS_CODE(StatusCode::kAlreadyExists, key.Save(path));
}

TEST(Ed25519Test, RefusesWhatIsNotAnEd25519Key) {
  TempDir dir;
  testing::WriteFileText(dir.path() / "junk.pub", "-----BEGIN PUBLIC KEY-----\nAAAA\n");
  EXPECT_STATUS_CODE(StatusCode::kInvalidArgument, PublicKey::Load(dir.path() / "junk.pub"));
  EXPECT_STATUS_CODE(StatusCode::kInvalidArgument, SigningKey::Load(dir.path() / "junk.pub"));
  EXPECT_FALSE(PublicKey::Load(dir.path() / "missing.pub").ok());
  EXPECT_STATUS_CODE(StatusCode::kInvalidArgument, PublicKey::FromRaw("short"));
}

}  // namespace
}  // namespace re2po
