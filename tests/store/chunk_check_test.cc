// What a read checks: a chunk value's checksum (schema 2), or, for values
// written before checksums, the chunk's SHA-256 name; and how a writer
// moves a schema-1 store to schema 2. Values are planted through RocksDB
// itself, so its own blob checksums pass and only Re2po's checks remain.

#include "store/base/coding.h"
#include "store/chunks/codec.h"
#include "store/db/db.h"
#include "store/db/keys.h"
#include "store/db/meta.h"
#include "store/store.h"
#include "tests/store/planted_store.h"

namespace re2po {
namespace {

namespace fs = std::filesystem;

class ChunkCheckTest : public testing::PlantedStoreTest {
 protected:
  void SetUp() override {
    PlantedStoreTest::SetUp();
    bytes_ = testing::RandomBytes(3 << 20, 77);
    testing::WriteFileBytes(tmp_.path() / "src" / "w.bin", bytes_);
    auto writer = Open(true);
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    ImportRequest request;
    request.model = "m";
    request.version = 1;
    request.source = tmp_.path() / "src";
    ASSERT_OK((*writer)->Import(request).status());
    const VersionRecord* version = (*writer)->Catalog()->FindVersion("m", 1);
    ASSERT_NE(version, nullptr);
    auto tree = (*writer)->Tree(*version);
    ASSERT_TRUE(tree.ok());
    auto recipe = (*writer)->FileRecipe((*tree)->entry(*(*tree)->Find("w.bin")).digest);
    ASSERT_TRUE(recipe.ok());
    ASSERT_GE((*recipe)->extents.size(), 2u);
    victim_ = (*recipe)->extents[1].chunk;
    victim_bytes_.assign(bytes_.begin() + static_cast<std::ptrdiff_t>((*recipe)->StartOf(1)),
                         bytes_.begin() + static_cast<std::ptrdiff_t>((*recipe)->extents[1].end));
  }

  Result<uint32_t> Schema() {
    ASSIGN_OR_RETURN(std::unique_ptr<Db> db, Db::Open(dir() / "db", Db::Mode::kReader));
    ASSIGN_OR_RETURN(auto value, db->Get(Cf::kMeta, keys::kSchema));
    const std::string bytes = value.value_or("");  // the Decoder only views it
    Decoder decoder(bytes, "schema");
    uint32_t schema = 0;
    RETURN_IF_ERROR(decoder.GetFixed32(schema));
    return schema;
  }
  // The victim chunk as a schema-1 value: raw codec, no checksum.
  std::string LegacyValue(const std::vector<uint8_t>& content) const {
    std::string value(1, static_cast<char>(CodecId::kRaw));
    PutVarint(value, content.size());
    value.append(reinterpret_cast<const char*>(content.data()), content.size());
    return value;
  }
  // Reads the victim; its error, or Ok.
  Status ReadVictim() {
    ASSIGN_OR_RETURN(std::unique_ptr<Store> reader, Open(false));
    ASSIGN_OR_RETURN(ChunkBytes chunk, reader->ReadChunk(victim_));
    if (*chunk != victim_bytes_) return Status::InvalidArgument("read returned wrong bytes");
    return Status::Ok();
  }
  Result<VerifyReport> Verify() {
    ASSIGN_OR_RETURN(std::unique_ptr<Store> reader, Open(false));
    return reader->Verify(nullptr);
  }

  std::vector<uint8_t> bytes_, victim_bytes_;
  Digest victim_;
};

TEST_F(ChunkCheckTest, APayloadByteChangedBehindRocksDbFailsTheChecksum) {
  size_t payload_size = 0;
  std::string value =
      EncodeChunkValue(victim_, victim_bytes_, DType::kUnknown, CodecOptions{}, payload_size);
  value[value.size() - payload_size / 2] ^= 0x01;
  ASSERT_OK(Put(Cf::kChunks, victim_.view(), value));
  const Status read = ReadVictim();
  EXPECT_STATUS_CODE(StatusCode::kCorruption, read);
  EXPECT_NE(read.message().find("checksum"), std::string::npos) << read.ToString();
  ASSERT_OK_AND_ASSIGN(VerifyReport report, Verify());
  ASSERT_EQ(report.damaged.size(), 1u);
  EXPECT_EQ(report.damaged[0].chunk, victim_);
}

TEST_F(ChunkCheckTest, SchemaOneValuesReadByTheirNameAndDamageToThemIsCaught) {
  ASSERT_OK(Put(Cf::kChunks, victim_.view(), LegacyValue(victim_bytes_)));
  EXPECT_OK(ReadVictim());
  ASSERT_OK_AND_ASSIGN(VerifyReport clean, Verify());
  EXPECT_TRUE(clean.ok());

  std::vector<uint8_t> damaged = victim_bytes_;
  damaged[damaged.size() / 3] ^= 0x80;
  ASSERT_OK(Put(Cf::kChunks, victim_.view(), LegacyValue(damaged)));
  const Status read = ReadVictim();
  EXPECT_STATUS_CODE(StatusCode::kCorruption, read);
  EXPECT_NE(read.message().find("digest"), std::string::npos) << read.ToString();
}

// Another chunk's whole value found under this chunk's key (a misdirected
// read) fails the read's checksum, which is seeded with the key.
TEST_F(ChunkCheckTest, AnotherChunksValueUnderThisKeyFailsTheRead) {
  std::vector<uint8_t> other = testing::RandomBytes(victim_bytes_.size(), 78);
  size_t payload_size = 0;
  ASSERT_OK(Put(Cf::kChunks, victim_.view(),
                EncodeChunkValue(Sha256Of(std::span<const uint8_t>(other)), other, DType::kUnknown,
                                 CodecOptions{}, payload_size)));
  const Status read = ReadVictim();
  EXPECT_STATUS_CODE(StatusCode::kCorruption, read);
  EXPECT_NE(read.message().find("checksum"), std::string::npos) << read.ToString();
}

// A value whose checksum was computed for this name over other bytes (a
// writer that hashed one buffer and stored another) passes a read's check;
// verify, which re-hashes every chunk against its name, finds it.
TEST_F(ChunkCheckTest, VerifyFindsAValueThatHoldsOtherBytesThanItsName) {
  std::vector<uint8_t> other = testing::RandomBytes(victim_bytes_.size(), 79);
  size_t payload_size = 0;
  ASSERT_OK(Put(Cf::kChunks, victim_.view(),
                EncodeChunkValue(victim_, other, DType::kUnknown, CodecOptions{}, payload_size)));
  ASSERT_OK_AND_ASSIGN(VerifyReport report, Verify());
  ASSERT_EQ(report.damaged.size(), 1u);
  EXPECT_EQ(report.damaged[0].chunk, victim_);
  EXPECT_NE(report.damaged[0].problem.find("digest"), std::string::npos)
      << report.damaged[0].problem;
}

TEST_F(ChunkCheckTest, AWriterUpgradesASchemaOneStoreAndReadersLeaveItAlone) {
  std::string one;
  PutFixed32(one, 1);
  ASSERT_OK(Put(Cf::kMeta, keys::kSchema, one));
  ASSERT_OK(Put(Cf::kChunks, victim_.view(), LegacyValue(victim_bytes_)));
  {
    ASSERT_OK_AND_ASSIGN(auto reader, Open(false));
    EXPECT_EQ(reader->Catalog()->FindVersion("m", 1)->version, 1u);
  }
  ASSERT_OK_AND_ASSIGN(uint32_t before, Schema());
  EXPECT_EQ(before, 1u);
  { ASSERT_OK_AND_ASSIGN(auto writer, Open(true)); }
  ASSERT_OK_AND_ASSIGN(uint32_t after, Schema());
  EXPECT_EQ(after, kSchemaVersion);
  EXPECT_OK(ReadVictim());
}

}  // namespace
}  // namespace re2po
