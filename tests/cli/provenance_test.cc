// A version's identity and provenance through the CLI: the same bytes get
// the same id in any store; imports record who, where, with what and from
// which parent; `log` shows the lineage and the bases of delta chunks;
// `sign` and `verify` accept only the trusted key's signature over the
// current metadata, and the mount shows it as an xattr.
#include <sys/xattr.h>

#include "store/catalog/records.h"
#include "store/db/db.h"
#include "store/db/keys.h"
#include "store/db/reader_open.h"
#include "tests/cli/cli_fixture.h"
#include "tests/testutil/model_files.h"

namespace re2po::testing {
namespace {

// Float32 weights; the fine-tune changes the low mantissa byte of each.
std::vector<uint8_t> Weights(uint64_t seed, bool tuned) {
  std::vector<uint8_t> bytes = RandomBytes(256 << 10, seed);
  for (size_t i = 0; i < bytes.size(); i += 4) {
    bytes[i + 3] = 0x3f;  // sign and high exponent: ordinary magnitudes
    if (tuned) bytes[i] ^= 0x5a;
  }
  return bytes;
}

class ProvenanceTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    const auto write = [&](const std::string& name, bool tuned) {
      WriteFileBytes(Dir(name) / "model.safetensors",
                     SafetensorsFile({{"encoder.weight", Weights(1, tuned)},
                                      {"head.weight", Weights(2, tuned)}}));
    };
    write("base", false);
    write("tuned", true);
  }

  void MustRun(const std::string& args) {
    CommandResult result = Re2po(args);
    ASSERT_EQ(result.exit_code, 0) << args << ": " << result.err;
  }
};

TEST_F(ProvenanceTest, ImportsRecordTheirOriginAndLogShowsTheLineage) {
  MustRun("import backbone " + Q(Dir("base")));
  MustRun("import pets --from backbone@1 " + Q(Dir("tuned")));
  const nlohmann::json shown = Json("show pets@1");
  const nlohmann::json& provenance = shown["provenance"];
  EXPECT_EQ(provenance["id"], "re2po:sha256:" + shown["digest"].get<std::string>());
  EXPECT_EQ(provenance["short_id"], shown["digest"].get<std::string>().substr(0, 12));
  EXPECT_EQ(provenance["tool"], "re2po 0.1.0");
  EXPECT_FALSE(provenance["imported_by"].get<std::string>().empty());
  EXPECT_FALSE(provenance["host"].get<std::string>().empty());
  EXPECT_EQ(provenance["parent"]["version"], "backbone@1");
  EXPECT_EQ(provenance["parent"]["id"], Json("show backbone@1")["provenance"]["id"]);
  EXPECT_EQ(provenance["delta_bases"], nlohmann::json::array({"backbone@1"}));
  EXPECT_TRUE(provenance["signature"].is_null());

  const nlohmann::json log = Json("log pets");
  ASSERT_EQ(log["versions"].size(), 1u);
  EXPECT_EQ(log["versions"][0]["parent"]["version"], "backbone@1");
  EXPECT_LT(log["versions"][0]["new_bytes"].get<uint64_t>(),
            log["versions"][0]["logical_bytes"].get<uint64_t>() / 2)
      << "the fine-tune should cost its deltas only";
  CommandResult text = Re2po("log pets");
  EXPECT_NE(text.out.find("from backbone@1"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("deltas against backbone@1"), std::string::npos) << text.out;

  CommandResult missing = Re2po("import pets --from nosuch@4 " + Q(Dir("tuned")));
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("--from nosuch@4: no such version"), std::string::npos) << missing.err;
}

TEST_F(ProvenanceTest, TheSameBytesHaveTheSameIdInAnotherStore) {
  MustRun("import backbone " + Q(Dir("base")));
  const std::string here = store_;
  store_ = Dir("other-store").string();
  MustRun("init");
  MustRun("import renamed@7 " + Q(Dir("base")));
  const std::string there = Json("show renamed@7")["provenance"]["id"];
  store_ = here;
  EXPECT_EQ(Json("show backbone@1")["provenance"]["id"], there);
}

TEST_F(ProvenanceTest, OnlyTheTrustedKeysSignatureOverTheCurrentMetadataVerifies) {
  MustRun("import backbone " + Q(Dir("base")));
  const std::string key = Dir("k").string(), other = Dir("other").string();
  ASSERT_EQ(
      RunCommand(ShellQuote(BuiltTool("re2po")) + " key generate " + ShellQuote(key)).exit_code, 0);
  ASSERT_EQ(
      RunCommand(ShellQuote(BuiltTool("re2po")) + " key generate " + ShellQuote(other)).exit_code,
      0);
  CommandResult unsigned_version = Re2po("verify backbone@1 --trust " + Q(key + ".pub"));
  EXPECT_NE(unsigned_version.exit_code, 0);
  EXPECT_NE(unsigned_version.err.find("is not signed"), std::string::npos);

  MustRun("sign backbone@1 --key " + Q(key));
  CommandResult good = Re2po("verify backbone@1 --trust " + Q(key + ".pub"));
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_FALSE(Json("show backbone@1")["provenance"]["signature"].is_null());
  CommandResult foreign = Re2po("verify backbone@1 --trust " + Q(other + ".pub"));
  EXPECT_NE(foreign.exit_code, 0);
  EXPECT_NE(foreign.err.find("not by the trusted key"), std::string::npos) << foreign.err;

  // Someone with write access to the database changes the recorded source.
  {
    auto db = Db::Open(DbDir(store_), Db::Mode::kWriter);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    const std::string key_bytes = keys::Version("backbone", 1);
    auto value = (*db)->Get(Cf::kCatalog, key_bytes);
    ASSERT_TRUE(value.ok() && value->has_value());
    auto record = VersionRecord::Decode("backbone", 1, **value);
    ASSERT_TRUE(record.ok());
    record->source_path = "/somewhere/else";
    WriteBatch batch(**db);
    batch.Put(Cf::kCatalog, key_bytes, record->Encode());
    ASSERT_TRUE((*db)->Write(batch, /*durable=*/true).ok());
  }
  CommandResult tampered = Re2po("verify backbone@1 --trust " + Q(key + ".pub"));
  EXPECT_NE(tampered.exit_code, 0);
  EXPECT_NE(tampered.err.find("does not match"), std::string::npos) << tampered.err;
}

}  // namespace
}  // namespace re2po::testing
