// The keyring commands and protected imports from the command line: keys
// made, listed and exported without their secrets reaching the terminal;
// clear errors for a missing keyring, key or a keyring others may read;
// a protected version that only a keyring holding its key reads.
#include <sys/stat.h>

#include <fstream>

#include "tests/cli/cli_fixture.h"

namespace re2po::testing {
namespace {

class KeyringCliTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    ring_ = Dir("ring");
    ASSERT_EQ(Re2po("keyring create " + Q(ring_)).exit_code, 0);
    CommandResult added = Re2po("keyring add " + Q(ring_) + " wildlife");
    ASSERT_EQ(added.exit_code, 0) << added.err;
    source_ = Dir("src");
    WriteFileBytes(source_ / "model.bin", RandomBytes(1 << 20, 17));
  }
  std::string Secret() {
    std::ifstream in(ring_);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("key wildlife ", 0) == 0) return line.substr(13, 64);
    }
    return "";
  }

  std::filesystem::path ring_;
  std::filesystem::path source_;
};

TEST_F(KeyringCliTest, KeysAreListedAndExportedButTheirSecretsNeverPrinted) {
  struct stat st {};
  ASSERT_EQ(::stat(ring_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string secret = Secret();
  ASSERT_EQ(secret.size(), 64u);
  ASSERT_EQ(Re2po("keyring add " + Q(ring_) + " medical").exit_code, 0);
  CommandResult again = Re2po("keyring add " + Q(ring_) + " wildlife");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already has a key named wildlife"), std::string::npos) << again.err;

  nlohmann::json keys = Json("keyring list " + Q(ring_));
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0]["name"], "wildlife");
  EXPECT_EQ(keys[0]["id"].get<std::string>().size(), 32u);
  CommandResult listed = Re2po("keyring list " + Q(ring_));
  EXPECT_EQ(listed.out.find(secret), std::string::npos);

  CommandResult exported =
      Re2po("keyring export " + Q(ring_) + " wildlife --out " + Q(Dir("node-ring")));
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_EQ((exported.out + exported.err).find(secret), std::string::npos);
  nlohmann::json node_keys = Json("keyring list " + Q(Dir("node-ring")));
  ASSERT_EQ(node_keys.size(), 1u);
  EXPECT_EQ(node_keys[0]["id"], keys[0]["id"]);

  ASSERT_EQ(::chmod(Dir("node-ring").c_str(), 0640), 0);
  CommandResult loose = Re2po("keyring list " + Q(Dir("node-ring")));
  EXPECT_EQ(loose.exit_code, 1);
  EXPECT_NE(loose.err.find("chmod 600"), std::string::npos) << loose.err;
}

TEST_F(KeyringCliTest, AProtectedImportReadsOnlyWithTheKeyAndSaysWhichKeyIsMissing) {
  CommandResult no_ring = Re2po("import rhino " + Q(source_) + " --protect wildlife");
  EXPECT_EQ(no_ring.exit_code, 1);
  EXPECT_NE(no_ring.err.find("needs a keyring"), std::string::npos) << no_ring.err;
  CommandResult no_key =
      Re2po("--keyring " + Q(ring_) + " import rhino " + Q(source_) + " --protect poachers");
  EXPECT_EQ(no_key.exit_code, 1);
  EXPECT_NE(no_key.err.find("no key named poachers"), std::string::npos) << no_key.err;

  nlohmann::json imported =
      Json("--keyring " + Q(ring_) + " import rhino " + Q(source_) + " --protect wildlife");
  EXPECT_EQ(imported["protected_by"], "wildlife");
  nlohmann::json shown = Json("show rhino@1");
  EXPECT_EQ(shown["provenance"]["protected_by"]["key"], "wildlife") << shown.dump();

  const std::string original = Sha256Hex(source_ / "model.bin");
  CommandResult with_key =
      RunCommand(ShellQuote(BuiltTool("re2po")) + " --store " + ShellQuote(store_) + " --keyring " +
                 Q(ring_) + " cat rhino@1 model.bin | sha256sum");
  EXPECT_EQ(with_key.out.substr(0, 64), original);
  CommandResult without = Re2po("cat rhino@1 model.bin");
  EXPECT_EQ(without.exit_code, 1);
  EXPECT_TRUE(without.out.empty()) << "not one byte without the key";
  EXPECT_NE(without.err.find("sealed by key id"), std::string::npos) << without.err;

  CommandResult verify = Re2po("verify");
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_NE(verify.out.find("not checked"), std::string::npos) << verify.out;
  nlohmann::json checked = Json("--keyring " + Q(ring_) + " verify");
  EXPECT_EQ(checked["sealed_unchecked"], 0);
  EXPECT_TRUE(checked["ok"].get<bool>());
}

}  // namespace
}  // namespace re2po::testing
