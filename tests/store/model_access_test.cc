// A model's access (owner, group, mode, hidden) through the Store: its
// encoding, a new catalog state per change, kept across reopen, removal and
// re-import, and refused where it would be unsafe to guess.
#include <map>

#include "store/base/coding.h"
#include "store/catalog/records.h"
#include "tests/store/store_fixture.h"

namespace re2po {
namespace {

ModelAccess Protected() {
  ModelAccess access;
  access.uid = 4242;
  access.gid = 77;
  access.mode = 0750;
  access.hidden = true;
  return access;
}

TEST(ModelAccessRecord, RoundTripsEveryCombination) {
  for (int bits = 0; bits < 16; ++bits) {
    ModelAccess access;
    if (bits & 1) access.uid = 0xFFFFFFFEu;
    if (bits & 2) access.gid = 0;
    if (bits & 4) access.mode = 0;
    access.hidden = (bits & 8) != 0;
    std::string bytes;
    access.EncodeTo(bytes);
    Decoder decoder(bytes, "model");
    ASSERT_OK_AND_ASSIGN(ModelAccess back, ModelAccess::DecodeFrom(decoder));
    EXPECT_EQ(back, access) << "combination " << bits;
    EXPECT_TRUE(decoder.done());
  }
}

TEST(ModelAccessRecord, UnknownFlagsAndBadValuesAreRefused) {
  std::string newer;
  PutVarint(newer, 16);  // a restriction this reader does not know
  Decoder decoder(newer, "model");
  EXPECT_EQ(ModelAccess::DecodeFrom(decoder).status().code(), StatusCode::kUnsupported);

  std::string wide_mode;
  PutVarint(wide_mode, 4);
  PutVarint(wide_mode, 04755);  // setuid is not a model's to give
  Decoder mode_decoder(wide_mode, "model");
  EXPECT_EQ(ModelAccess::DecodeFrom(mode_decoder).status().code(), StatusCode::kCorruption);

  std::string truncated;
  PutVarint(truncated, 1);
  Decoder truncated_decoder(truncated, "model");
  EXPECT_FALSE(ModelAccess::DecodeFrom(truncated_decoder).ok());
}

class ModelAccessTest : public StoreTest {};

TEST_F(ModelAccessTest, SetBeforeTheFirstImportProtectsTheFirstVersion) {
  WriteFileBytes(src("w.bin"), RandomBytes(70000, 1));
  ASSERT_OK_AND_ASSIGN(auto writer, Open(/*writer=*/true));
  const uint64_t generation = writer->Catalog()->generation();
  ASSERT_OK(writer->SetModelAccess("secret", Protected()));
  EXPECT_EQ(writer->Catalog()->generation(), generation + 1);
  const ModelEntry* before = writer->Catalog()->FindModel("secret");
  ASSERT_NE(before, nullptr);
  EXPECT_TRUE(before->versions.empty());
  const uint64_t id = before->id;

  ASSERT_OK(Import(*writer, "secret", 1, src("")).status());
  const ModelEntry* after = writer->Catalog()->FindModel("secret");
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(after->id, id);
  EXPECT_EQ(after->access, Protected());
  ASSERT_OK_AND_ASSIGN(StoreStats stats, writer->Stats());
  EXPECT_EQ(stats.models, 1u);
}

TEST_F(ModelAccessTest, ChangesAreNewCatalogStatesThatReadersSee) {
  WriteFileBytes(src("w.bin"), RandomBytes(70000, 2));
  ASSERT_OK_AND_ASSIGN(auto writer, Open(/*writer=*/true));
  ASSERT_OK(Import(*writer, "m", 1, src("")).status());
  ASSERT_OK_AND_ASSIGN(auto reader, Open(/*writer=*/false));
  EXPECT_TRUE(reader->Catalog()->FindModel("m")->access.IsDefault());
  const Digest digest = reader->Catalog()->FindVersion("m", 1)->digest;

  ASSERT_OK(writer->SetModelAccess("m", Protected()));
  ASSERT_OK_AND_ASSIGN(bool changed, reader->Refresh());
  EXPECT_TRUE(changed);
  EXPECT_EQ(reader->Catalog()->FindModel("m")->access, Protected());
  // Nothing was re-imported: the version is the same.
  EXPECT_EQ(reader->Catalog()->FindVersion("m", 1)->digest, digest);
  EXPECT_EQ(reader->Catalog()->FindModel("m")->versions.size(), 1u);

  ASSERT_OK(writer->SetModelAccess("m", ModelAccess{}));
  ASSERT_OK_AND_ASSIGN(changed, reader->Refresh());
  EXPECT_TRUE(changed);
  EXPECT_TRUE(reader->Catalog()->FindModel("m")->access.IsDefault());
}

TEST_F(ModelAccessTest, AccessOutlivesTheLastVersionUntilReset) {
  WriteFileBytes(src("w.bin"), RandomBytes(70000, 3));
  {
    ASSERT_OK_AND_ASSIGN(auto writer, Open(/*writer=*/true));
    ASSERT_OK(Import(*writer, "m", 1, src("")).status());
    ASSERT_OK(Import(*writer, "open", 1, src("")).status());
    ASSERT_OK(writer->SetModelAccess("m", Protected()));
    ASSERT_OK(writer->Remove("m", 1));
    ASSERT_OK(writer->Remove("open", 1));
    EXPECT_EQ(writer->Catalog()->FindModel("open"), nullptr);
  }
  ASSERT_OK_AND_ASSIGN(auto writer, Open(/*writer=*/true));  // from disk
  const ModelEntry* kept = writer->Catalog()->FindModel("m");
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->access, Protected());
  ASSERT_OK(Import(*writer, "m", 2, src("")).status());
  EXPECT_EQ(writer->Catalog()->FindModel("m")->access, Protected());
  ASSERT_OK(writer->Remove("m", 2));

  ASSERT_OK(writer->SetModelAccess("m", ModelAccess{}));
  EXPECT_EQ(writer->Catalog()->FindModel("m"), nullptr);
  ASSERT_OK_AND_ASSIGN(StoreStats stats, writer->Stats());
  EXPECT_EQ(stats.models, 0u);
}

TEST_F(ModelAccessTest, ReadersBadNamesAndBadModesAreRefused) {
  ASSERT_OK_AND_ASSIGN(auto reader, Open(/*writer=*/false));
  EXPECT_EQ(reader->SetModelAccess("m", Protected()).code(), StatusCode::kBusy);
  ASSERT_OK_AND_ASSIGN(auto writer, Open(/*writer=*/true));
  EXPECT_EQ(writer->SetModelAccess("../etc", Protected()).code(), StatusCode::kInvalidArgument);
  ModelAccess setuid;
  setuid.mode = 04755;
  EXPECT_EQ(writer->SetModelAccess("m", setuid).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(writer->Catalog()->FindModel("m"), nullptr);
}

}  // namespace
}  // namespace re2po
