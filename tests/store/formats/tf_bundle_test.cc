#include "store/formats/tf_bundle.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "store/formats/wire/crc32c.h"
#include "store/formats/wire/le_reader.h"
#include "store/formats/wire/tf_table.h"
#include "tests/store/formats/parser_checks.h"
#include "tests/testutil/testutil.h"

namespace re2po::testing {
namespace {

namespace fs = std::filesystem;

TEST(Crc32c, KnownVector) {
  const std::string text = "123456789";
  EXPECT_EQ(Crc32c(ByteSpan(reinterpret_cast<const uint8_t*>(text.data()), text.size())),
            0xe3069283u);
  EXPECT_EQ(Crc32c(ByteSpan()), 0u);
}

// Every numeric tensor's segment hashes to the CRC32C TensorFlow stored in
// its BundleEntryProto: an independent check of every offset and size.
TEST(TfBundleFixtures, NumericSegmentsMatchStoredCrc) {
  REQUIRE_FIXTURE(root, "tf_serving");
  int indexes = 0, checked = 0, strings = 0;
  for (const auto& file : fs::recursive_directory_iterator(root)) {
    if (file.path().filename() != "variables.index") continue;
    ++indexes;
    const std::vector<uint8_t> index = ReadFileBytes(file.path());
    Result<ParsedFile> parsed = ParseTfBundle(index, "variables.index");
    ASSERT_TRUE(parsed.ok()) << file.path() << ": " << parsed.status().ToString();
    Result<TfBundleIndex> entries = ReadTfBundleIndex(index);
    ASSERT_TRUE(entries.ok());
    ASSERT_EQ(parsed->companions.size(), 1u);
    EXPECT_EQ(parsed->companions[0].relative_path, "variables.data-00000-of-00001");
    const std::vector<uint8_t> data =
        ReadFileBytes(file.path().parent_path() / parsed->companions[0].relative_path);
    ExpectSortedDisjointInBounds(parsed->companions[0].segments, data.size());
    for (const TfBundleEntry& entry : entries->entries) {
      ASSERT_LE(entry.offset + entry.size, data.size()) << entry.name;
      if (entry.dtype == 7 || entry.dtype == 21) {
        ++strings;
        continue;
      }
      const ByteSpan bytes(data.data() + entry.offset, entry.size);
      EXPECT_EQ(MaskCrc32c(Crc32c(bytes)), entry.masked_crc32c) << file.path() << " " << entry.name;
      ++checked;
    }
  }
  EXPECT_GE(indexes, 10);
  EXPECT_GE(checked, 40);
  EXPECT_GE(strings, 3);
}

TEST(TfBundleFixtures, ResNetIndexHas321DenselyPackedEntries) {
  REQUIRE_FIXTURE(path, "tf_savedmodel_partial/amdmigraphx_resnet50/variables/variables.index");
  Result<ParsedFile> parsed = ParseTfBundle(ReadFileBytes(path), "variables.index");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const std::vector<Segment>& segments = parsed->companions.at(0).segments;
  ASSERT_EQ(segments.size(), 321u);
  EXPECT_EQ(segments[0].offset, 0u);
  EXPECT_EQ(segments[0].length, 37632u);
  EXPECT_EQ(segments[0].shape, (std::vector<int64_t>{7, 7, 3, 64}));
  for (size_t i = 1; i < segments.size(); ++i) {
    EXPECT_EQ(segments[i].offset, segments[i - 1].end()) << "alignment 1 packs tensors";
  }
}

TEST(TfBundleFixtures, CompanionNamedAfterTheIndexFile) {
  REQUIRE_FIXTURE(path, "tf_serving/half_plus_two_sessionbundle_2016/00000123/export.index");
  Result<ParsedFile> parsed = ParseTfBundle(ReadFileBytes(path), "00000123/export.index");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->companions.size(), 1u);
  EXPECT_EQ(parsed->companions[0].relative_path, "export.data-00000-of-00001");
  EXPECT_EQ(parsed->companions[0].segments.size(), 2u);
  EXPECT_EQ(parsed->companions[0].segments[0].dtype, DType::kF32);
}

TEST(TfBundleFixtures, V1CheckpointIsRejected) {
  REQUIRE_FIXTURE(path, "tf_serving/bad_half_plus_two/00000123/export");
  EXPECT_FALSE(ParseTfBundleSavedModel(ReadFileBytes(path)).ok());
}

// The first data block starts at 0; find its end by its valid trailer CRC.
size_t FirstBlockSize(const std::vector<uint8_t>& bytes) {
  for (size_t size = 1; size + 5 <= bytes.size(); ++size) {
    const uint32_t stored = LoadLittleEndian<uint32_t>(bytes.data() + size + 1);
    if (MaskCrc32c(Crc32c(ByteSpan(bytes.data(), size + 1))) == stored) return size;
  }
  return 0;
}

class TfBundleHostile : public ::testing::Test {
 protected:
  void SetUp() override {
    auto path = Fixture(
        "tf_serving/saved_model_half_plus_two_tf2_cpu/00000123/variables/"
        "variables.index");
    if (!path) GTEST_SKIP() << "tf_serving fixtures absent";
    bytes_ = ReadFileBytes(*path);
    block_ = FirstBlockSize(bytes_);
    ASSERT_GT(block_, 0u);
  }
  void Reseal() {
    const uint32_t crc = MaskCrc32c(Crc32c(ByteSpan(bytes_.data(), block_ + 1)));
    std::memcpy(bytes_.data() + block_ + 1, &crc, 4);
  }
  std::vector<uint8_t> bytes_;
  size_t block_ = 0;
};

TEST_F(TfBundleHostile, SnappyBlockThatLiesAboutItsSizeIsRejected) {
  ASSERT_EQ(bytes_[block_], 1) << "this fixture's data block is Snappy-compressed";
  // The block handle fixes the compressed length, so the lie keeps the
  // varint's width but claims its largest value (more bytes than the block
  // holds), then reseals the CRC so only the decompressor can catch it.
  size_t last = 0;
  while (bytes_[last] & 0x80) bytes_[last++] = 0xff;
  ASSERT_LT(bytes_[last], 0x7f);
  bytes_[last] = 0x7f;
  Reseal();
  Result<ParsedFile> parsed = ParseTfBundleSavedModel(bytes_);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("Snappy"), std::string::npos)
      << parsed.status().message();
}

TEST_F(TfBundleHostile, SnappyClaimOverTheBoundIsRefusedBeforeAllocating) {
  TableLimits limits;
  limits.max_block_size = 16;
  const Status status = ReadTable(
      bytes_, [](std::string_view, std::string_view) { return Status::Ok(); }, limits);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("over the 16-byte limit"), std::string::npos) << status.message();
}

TEST_F(TfBundleHostile, BadBlockCrcIsRejected) {
  bytes_[block_ / 2] ^= 0x40;
  Result<ParsedFile> parsed = ParseTfBundleSavedModel(bytes_);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("CRC32C"), std::string::npos)
      << parsed.status().message();
}

TEST_F(TfBundleHostile, EveryPrefixIsRejected) {
  ExpectEveryPrefixSafe(&ParseTfBundleSavedModel, bytes_);
  for (size_t length = 0; length < bytes_.size(); ++length) {
    EXPECT_FALSE(ParseTfBundleSavedModel(ByteSpan(bytes_.data(), length)).ok()) << length;
  }
}

}  // namespace
}  // namespace re2po::testing
