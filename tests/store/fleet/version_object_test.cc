// Version objects: what a push writes decodes to the same version, and a
// node refuses objects that are truncated, hostile or not closed.
#include "store/fleet/version_object.h"

#include "tests/testutil/status_testutil.h"

namespace re2po {
namespace {

Digest ObjectNamed(uint8_t seed) { return testing::FilledDigest(seed); }

VersionObject SampleObject() {
  TreeEntry root;
  root.type = EntryType::kDirectory;
  root.mode = 0755;
  TreeEntry file;
  file.name = "model.safetensors";
  file.type = EntryType::kFile;
  file.mode = 0644;
  file.size = 300;
  file.digest = ObjectNamed(9);
  VersionObject object;
  object.tree = VersionTree({root, file});
  object.record.model = "resnet";
  object.record.version = 3;
  object.record.labels = {{"team", "vision"}};
  object.record.digest = object.tree.ComputeDigest();
  Recipe recipe;
  recipe.extents = {{ObjectNamed(1), 100}, {ObjectNamed(2), 300}};
  FileInfo info;
  info.format = "safetensors";
  object.files.push_back({ObjectNamed(9), recipe, info});
  object.packs = {ObjectNamed(40)};
  object.chunks[ObjectNamed(1)] =
      ChunkLocation{0, 0, 120, ChunkInfo{1, 100, 110, std::nullopt, {}}};
  object.chunks[ObjectNamed(2)] =
      ChunkLocation{0, 120, 90, ChunkInfo{1, 200, 80, ObjectNamed(3), {}}};
  object.chunks[ObjectNamed(3)] =
      ChunkLocation{0, 210, 70, ChunkInfo{1, 200, 60, std::nullopt, {}}};
  return object;
}

TEST(VersionObjectTest, RoundTripsAndEncodesDeterministically) {
  const VersionObject object = SampleObject();
  const std::string bytes = object.Encode();
  ASSERT_OK_AND_ASSIGN(VersionObject decoded, VersionObject::Decode(bytes));
  EXPECT_EQ(decoded.record.model, "resnet");
  EXPECT_EQ(decoded.record.version, 3u);
  EXPECT_EQ(decoded.record.labels.at("team"), "vision");
  ASSERT_EQ(decoded.files.size(), 1u);
  ASSERT_NE(decoded.FindFile(ObjectNamed(9)), nullptr);
  EXPECT_EQ(decoded.FindFile(ObjectNamed(9))->recipe.size(), 300u);
  EXPECT_EQ(decoded.chunks.at(ObjectNamed(2)).offset, 120u);
  EXPECT_EQ(decoded.chunks.at(ObjectNamed(2)).info.base, ObjectNamed(3));
  EXPECT_EQ(decoded.Encode(), bytes);
}

TEST(VersionObjectTest, EveryTruncationIsRefused) {
  const std::string bytes = SampleObject().Encode();
  for (size_t length = 0; length < bytes.size(); ++length) {
    EXPECT_FALSE(VersionObject::Decode(bytes.substr(0, length)).ok()) << length;
  }
  EXPECT_STATUS_CODE(StatusCode::kCorruption, VersionObject::Decode(bytes + "x"));
}

TEST(VersionObjectTest, AnObjectThatCannotServeItsFilesIsRefused) {
  VersionObject missing_chunk = SampleObject();
  missing_chunk.chunks.erase(ObjectNamed(1));
  EXPECT_STATUS_CODE(StatusCode::kCorruption, VersionObject::Decode(missing_chunk.Encode()));

  VersionObject missing_base = SampleObject();
  missing_base.chunks.erase(ObjectNamed(3));
  EXPECT_STATUS_CODE(StatusCode::kCorruption, VersionObject::Decode(missing_base.Encode()));

  VersionObject bad_pack = SampleObject();
  bad_pack.chunks[ObjectNamed(1)].pack = 5;
  EXPECT_STATUS_CODE(StatusCode::kCorruption, VersionObject::Decode(bad_pack.Encode()));

  VersionObject huge = SampleObject();
  huge.chunks[ObjectNamed(1)].length = kMaxRemoteChunkValue + 1;
  EXPECT_STATUS_CODE(StatusCode::kCorruption, VersionObject::Decode(huge.Encode()));

  VersionObject other_tree = SampleObject();
  other_tree.record.digest = ObjectNamed(77);
  EXPECT_STATUS_CODE(StatusCode::kCorruption, VersionObject::Decode(other_tree.Encode()));
}

TEST(VersionObjectTest, HostileCountsDoNotAllocate) {
  std::string bytes = "R2VO";
  bytes.push_back(1);
  bytes += std::string(1, 1) + "m";                              // model "m"
  bytes += "\x01";                                               // version 1
  bytes += std::string("\xff\xff\xff\xff\xff\xff\xff\xff\x7f");  // record length 2^63-ish
  EXPECT_FALSE(VersionObject::Decode(bytes).ok());
}

}  // namespace
}  // namespace re2po
