// Catalog records: exact round trips, the version tree's navigation and
// Merkle digest, recipe offset lookup, and decoders that turn every
// truncation or garbling into a status instead of a crash.
#include "store/catalog/records.h"

#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "store/base/coding.h"
#include "tests/testutil/status_testutil.h"

namespace re2po {
namespace {

Digest DigestOf(std::string_view text) { return Sha256Of(text); }

// Every proper prefix must fail with Corruption; garbled copies may decode
// or fail, but only with Corruption/Unsupported, and never crash.
template <typename DecodeFn>
void CheckTruncationAndGarbling(const std::string& encoded, DecodeFn decode) {
  for (size_t cut = 0; cut < encoded.size(); ++cut) {
    Status status = testing::StatusOf(decode(std::string_view(encoded).substr(0, cut)));
    EXPECT_EQ(status.code(), StatusCode::kCorruption)
        << "prefix of " << cut << "/" << encoded.size() << ": " << status.ToString();
  }
  std::mt19937_64 rng(42);
  for (int round = 0; round < 2000; ++round) {
    std::string garbled = encoded;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      garbled[rng() % garbled.size()] = static_cast<char>(rng());
    }
    if (rng() % 3 == 0) garbled.resize(rng() % (garbled.size() + 1));
    Status status = testing::StatusOf(decode(garbled));
    if (!status.ok()) {
      EXPECT_TRUE(status.code() == StatusCode::kCorruption ||
                  status.code() == StatusCode::kUnsupported)
          << status.ToString();
    }
  }
}

class VersionRecordTest : public ::testing::Test {
 protected:
  static VersionRecord Sample() {
    VersionRecord record;
    record.model = "bert-base";
    record.version = 12;
    record.seq = 300;
    record.created_ns = -5;  // zigzag keeps negative times
    record.source_path = "/data/models/bert";
    record.labels = {{"stage", "prod"}, {"", "empty key"}, {"owner", ""}};
    record.logical_bytes = uint64_t{1} << 40;
    record.new_bytes = 123456;
    record.file_count = 7;
    record.digest = DigestOf("root");
    return record;
  }
};

TEST_F(VersionRecordTest, RoundTripsEveryField) {
  VersionRecord record = Sample();
  ASSERT_OK_AND_ASSIGN(VersionRecord decoded,
                       VersionRecord::Decode(record.model, record.version, record.Encode()));
  EXPECT_EQ(decoded.model, record.model);
  EXPECT_EQ(decoded.version, record.version);
  EXPECT_EQ(decoded.seq, record.seq);
  EXPECT_EQ(decoded.created_ns, record.created_ns);
  EXPECT_EQ(decoded.source_path, record.source_path);
  EXPECT_EQ(decoded.labels, record.labels);
  EXPECT_EQ(decoded.logical_bytes, record.logical_bytes);
  EXPECT_EQ(decoded.new_bytes, record.new_bytes);
  EXPECT_EQ(decoded.file_count, record.file_count);
  EXPECT_EQ(decoded.digest, record.digest);
}

TEST_F(VersionRecordTest, ProtectionFollowsProvenanceAndIsPartOfWhatIsSigned) {
  VersionRecord record = Sample();
  const std::string open = record.Encode();
  const std::string open_signed = record.SignedBytes();
  record.protection = VersionProtection{"wildlife", std::string(16, '\x5a')};
  const std::string sealed = record.Encode();
  EXPECT_EQ(sealed.substr(0, open.size()), open) << "only appended";
  ASSERT_OK_AND_ASSIGN(VersionRecord decoded,
                       VersionRecord::Decode(record.model, record.version, sealed));
  EXPECT_EQ(decoded.protection, record.protection);
  EXPECT_TRUE(decoded.provenance.empty());
  EXPECT_NE(record.SignedBytes(), open_signed);
  // Cut where the (empty) provenance block ends, it is a record without
  // protection: values are whole in RocksDB, and the chunks stay sealed.
  const size_t provenance_end = sealed.size() - (1 + 1 + 8 + 16);
  for (size_t length = open.size() + 1; length < sealed.size(); ++length) {
    if (length == provenance_end) continue;
    EXPECT_FALSE(VersionRecord::Decode(record.model, record.version, sealed.substr(0, length)).ok())
        << length;
  }
  EXPECT_FALSE(VersionRecord::Decode(record.model, record.version, sealed + "x").ok());
}

TEST_F(VersionRecordTest, ProvenanceRoundTripsAndOlderRecordsHaveNone) {
  VersionRecord record = Sample();
  const std::string without = record.Encode();
  record.provenance.user = "ci";
  record.provenance.host = "builder-3";
  record.provenance.tool = "re2po 0.1.0";
  record.provenance.parent = VersionParent{"backbone", 12, DigestOf("parent")};
  record.provenance.delta_base_files = {DigestOf("a"), DigestOf("b")};
  const std::string with = record.Encode();
  EXPECT_EQ(with.substr(0, without.size()), without) << "provenance must only be appended";
  ASSERT_OK_AND_ASSIGN(VersionRecord decoded,
                       VersionRecord::Decode(record.model, record.version, with));
  EXPECT_EQ(decoded.provenance, record.provenance);
  ASSERT_OK_AND_ASSIGN(VersionRecord old,
                       VersionRecord::Decode(record.model, record.version, without));
  EXPECT_TRUE(old.provenance.empty());
  for (size_t length = without.size() + 1; length < with.size(); ++length) {
    EXPECT_FALSE(VersionRecord::Decode(record.model, record.version, with.substr(0, length)).ok())
        << length;
  }
  EXPECT_FALSE(VersionRecord::Decode(record.model, record.version, with + "x").ok());
}

TEST_F(VersionRecordTest, SignedBytesCoverTheMetadataButNotWhatIsLocalToAStore) {
  VersionRecord record = Sample();
  record.provenance.user = "ci";
  const std::string signed_bytes = record.SignedBytes();
  VersionRecord elsewhere = record;
  elsewhere.seq = 999;
  elsewhere.new_bytes = 0;  // another store had the chunks already
  EXPECT_EQ(elsewhere.SignedBytes(), signed_bytes);
  for (auto change : std::vector<std::function<void(VersionRecord&)>>{
           [](VersionRecord& r) { r.source_path += "/"; },
           [](VersionRecord& r) { r.labels["stage"] = "dev"; },
           [](VersionRecord& r) { r.created_ns += 1; },
           [](VersionRecord& r) { r.provenance.user = "mallory"; },
           [](VersionRecord& r) { r.version += 1; },
           [](VersionRecord& r) { r.digest = DigestOf("other"); }}) {
    VersionRecord changed = record;
    change(changed);
    EXPECT_NE(changed.SignedBytes(), signed_bytes);
  }
  VersionSignature signature{std::string(32, 'k'), std::string(64, 's'), -5};
  ASSERT_OK_AND_ASSIGN(VersionSignature back, VersionSignature::Decode(signature.Encode()));
  EXPECT_EQ(back.public_key, signature.public_key);
  EXPECT_EQ(back.signature, signature.signature);
  EXPECT_EQ(back.signed_ns, -5);
  signature.signature.pop_back();
  EXPECT_FALSE(VersionSignature::Decode(signature.Encode()).ok());
  EXPECT_EQ(VersionId(record.digest), "re2po:sha256:" + record.digest.Hex());
  EXPECT_EQ(ShortVersionId(record.digest), record.digest.Hex().substr(0, 12));
}

TEST_F(VersionRecordTest, ExtremeCreationTimesRoundTrip) {
  for (int64_t ns : {std::numeric_limits<int64_t>::min(), int64_t{-1}, int64_t{0},
                     std::numeric_limits<int64_t>::max()}) {
    VersionRecord record = Sample();
    record.created_ns = ns;
    ASSERT_OK_AND_ASSIGN(VersionRecord decoded, VersionRecord::Decode("m", 1, record.Encode()));
    EXPECT_EQ(decoded.created_ns, ns);
  }
}

TEST_F(VersionRecordTest, UnknownFormatByteIsUnsupported) {
  std::string encoded = Sample().Encode();
  encoded[0] = 9;
  EXPECT_STATUS_CODE(StatusCode::kUnsupported, VersionRecord::Decode("m", 1, encoded));
}

TEST_F(VersionRecordTest, TruncatedOrGarbledNeverCrashes) {
  CheckTruncationAndGarbling(Sample().Encode(), [](std::string_view bytes) {
    return VersionRecord::Decode("m", 1, bytes);
  });
}

class VersionTreeTest : public ::testing::Test {
 protected:
  // /            0
  //   b/         1
  //     x.bin    2
  //     link     3 -> x.bin
  //     c/       4
  //   a.txt      5
  static std::vector<TreeEntry> SampleEntries() {
    std::vector<TreeEntry> entries(6);
    entries[0] = Dir("", 0, 0755);
    entries[1] = Dir("b", 0, 0700);
    entries[2] = File("x.bin", 1, 0644, "x content", 9);
    entries[3] = Link("link", 1, "x.bin");
    entries[4] = Dir("c", 1, 0755);
    entries[5] = File("a.txt", 0, 0600, "a content", 9);
    return entries;
  }
  static TreeEntry Dir(std::string name, uint32_t parent, uint32_t mode) {
    TreeEntry entry;
    entry.name = std::move(name);
    entry.parent = parent;
    entry.type = EntryType::kDirectory;
    entry.mode = mode;
    entry.mtime_ns = 1000;
    return entry;
  }
  static TreeEntry File(std::string name, uint32_t parent, uint32_t mode, std::string_view content,
                        uint64_t size) {
    TreeEntry entry = Dir(std::move(name), parent, mode);
    entry.type = EntryType::kFile;
    entry.digest = DigestOf(content);
    entry.size = size;
    entry.mtime_ns = -7;
    return entry;
  }
  static TreeEntry Link(std::string name, uint32_t parent, std::string target) {
    TreeEntry entry = Dir(std::move(name), parent, 0777);
    entry.type = EntryType::kSymlink;
    entry.size = target.size();
    entry.target = std::move(target);
    return entry;
  }
  static Digest DigestWith(const std::function<void(std::vector<TreeEntry>&)>& change) {
    std::vector<TreeEntry> entries = SampleEntries();
    change(entries);
    return VersionTree(std::move(entries)).ComputeDigest();
  }
};

TEST_F(VersionTreeTest, ChildrenAreSortedByName) {
  VersionTree tree(SampleEntries());
  EXPECT_EQ(tree.entry(0).children, (std::vector<uint32_t>{5, 1}));  // "a.txt" < "b"
  EXPECT_EQ(tree.entry(1).children, (std::vector<uint32_t>{4, 3, 2}));
  EXPECT_TRUE(tree.entry(2).children.empty());
}

TEST_F(VersionTreeTest, ChildFindsOnlyDirectChildren) {
  VersionTree tree(SampleEntries());
  EXPECT_EQ(tree.Child(0, "a.txt"), 5u);
  EXPECT_EQ(tree.Child(0, "b"), 1u);
  EXPECT_EQ(tree.Child(1, "x.bin"), 2u);
  EXPECT_EQ(tree.Child(0, "x.bin"), std::nullopt);
  EXPECT_EQ(tree.Child(0, "a.tx"), std::nullopt);
  EXPECT_EQ(tree.Child(0, "c"), std::nullopt);
  EXPECT_EQ(tree.Child(2, "anything"), std::nullopt);  // a file has no children
  EXPECT_EQ(tree.Child(99, "a.txt"), std::nullopt);    // out of range
}

TEST_F(VersionTreeTest, FindAndPathOfAreInverses) {
  VersionTree tree(SampleEntries());
  EXPECT_EQ(tree.Find(""), 0u);
  EXPECT_EQ(tree.Find("b/x.bin"), 2u);
  EXPECT_EQ(tree.Find("b/c"), 4u);
  EXPECT_EQ(tree.Find("b/nope"), std::nullopt);
  EXPECT_EQ(tree.Find("a.txt/x"), std::nullopt);
  EXPECT_EQ(tree.PathOf(0), "");
  for (uint32_t i = 0; i < tree.size(); ++i) {
    EXPECT_EQ(tree.Find(tree.PathOf(i)), i) << tree.PathOf(i);
  }
  EXPECT_EQ(tree.PathOf(3), "b/link");
}

TEST_F(VersionTreeTest, EmptyTreeFindsNothing) {
  VersionTree tree;
  EXPECT_EQ(tree.Find(""), std::nullopt);
  EXPECT_EQ(tree.Child(0, "a"), std::nullopt);
  EXPECT_EQ(tree.ComputeDigest(), Sha256Of(std::string_view()));
}

TEST_F(VersionTreeTest, RoundTripPreservesPreOrderAndEveryField) {
  VersionTree tree(SampleEntries());
  ASSERT_OK_AND_ASSIGN(VersionTree decoded, VersionTree::Decode(tree.Encode()));
  ASSERT_EQ(decoded.size(), tree.size());
  for (uint32_t i = 0; i < tree.size(); ++i) {
    const TreeEntry& a = tree.entry(i);
    const TreeEntry& b = decoded.entry(i);
    EXPECT_EQ(a.name, b.name) << i;
    EXPECT_EQ(a.parent, b.parent) << i;
    EXPECT_EQ(a.type, b.type) << i;
    EXPECT_EQ(a.mode, b.mode) << i;
    EXPECT_EQ(a.size, b.size) << i;
    EXPECT_EQ(a.mtime_ns, b.mtime_ns) << i;
    EXPECT_EQ(a.digest, b.digest) << i;
    EXPECT_EQ(a.target, b.target) << i;
    EXPECT_EQ(a.children, b.children) << i;
  }
  EXPECT_EQ(decoded.ComputeDigest(), tree.ComputeDigest());
}

TEST_F(VersionTreeTest, DigestIgnoresMtimesOnly) {
  Digest base = VersionTree(SampleEntries()).ComputeDigest();
  EXPECT_EQ(base, DigestWith([](auto& e) {
              for (TreeEntry& entry : e) entry.mtime_ns += 123456789;
            }));
  EXPECT_NE(base, DigestWith([](auto& e) { e[5].name = "a.txu"; }));
  EXPECT_NE(base, DigestWith([](auto& e) { e[4].name = "d"; }));  // an empty directory's name
  EXPECT_NE(base, DigestWith([](auto& e) { e[2].mode = 0755; }));
  EXPECT_NE(base, DigestWith([](auto& e) { e[1].mode = 0755; }));
  EXPECT_NE(base, DigestWith([](auto& e) { e[0].mode = 0700; }));
  EXPECT_NE(base, DigestWith([](auto& e) { e[2].digest = DigestOf("other"); }));
  EXPECT_NE(base, DigestWith([](auto& e) { e[3].target = "a.txt"; }));
  EXPECT_NE(base, DigestWith([](auto& e) { e[4].parent = 0; }));  // moved up a level
}

TEST_F(VersionTreeTest, DigestSeparatesNameBoundaries) {
  // "ab" + child "c" must not collide with "a" + child "bc".
  std::vector<TreeEntry> one = {Dir("", 0, 0755), Dir("ab", 0, 0755), Dir("c", 1, 0755)};
  std::vector<TreeEntry> two = {Dir("", 0, 0755), Dir("a", 0, 0755), Dir("bc", 1, 0755)};
  EXPECT_NE(VersionTree(one).ComputeDigest(), VersionTree(two).ComputeDigest());
}

TEST_F(VersionTreeTest, DecodeRejectsBadStructure) {
  std::vector<TreeEntry> forward = SampleEntries();
  forward[2].parent = 4;  // a parent after its child: not pre-order
  EXPECT_STATUS_CODE(StatusCode::kCorruption, VersionTree::Decode(VersionTree(forward).Encode()));
  std::vector<TreeEntry> under_file = SampleEntries();
  under_file[3].parent = 2;  // a symlink inside a file
  EXPECT_STATUS_CODE(StatusCode::kCorruption,
                     VersionTree::Decode(VersionTree(under_file).Encode()));
  std::string encoded = VersionTree(SampleEntries()).Encode();
  encoded[0] = 2;
  EXPECT_STATUS_CODE(StatusCode::kUnsupported, VersionTree::Decode(encoded));
}

TEST_F(VersionTreeTest, HugeEntryCountIsCorruption) {
  std::string encoded(1, '\x01');
  PutVarint(encoded, uint64_t{1} << 60);
  EXPECT_STATUS_CODE(StatusCode::kCorruption, VersionTree::Decode(encoded));
}

TEST_F(VersionTreeTest, TruncatedOrGarbledNeverCrashes) {
  CheckTruncationAndGarbling(VersionTree(SampleEntries()).Encode(),
                             [](std::string_view bytes) { return VersionTree::Decode(bytes); });
}

class RecipeTest : public ::testing::Test {
 protected:
  static Recipe Make(const std::vector<uint64_t>& ends) {
    Recipe recipe;
    for (uint64_t end : ends) recipe.extents.push_back({DigestOf(std::to_string(end)), end});
    return recipe;
  }
};

TEST_F(RecipeTest, ExtentAtEveryBoundary) {
  Recipe recipe = Make({10, 20, 25, 26, 1000});
  EXPECT_EQ(recipe.size(), 1000u);
  for (size_t i = 0; i < recipe.extents.size(); ++i) {
    uint64_t start = recipe.StartOf(i);
    uint64_t last = recipe.extents[i].end - 1;
    EXPECT_EQ(recipe.ExtentAt(start), i) << "first byte of extent " << i;
    EXPECT_EQ(recipe.ExtentAt(last), i) << "last byte of extent " << i;
    if (start > 0) {
      EXPECT_EQ(recipe.ExtentAt(start - 1), i - 1);
    }
  }
  EXPECT_EQ(recipe.ExtentAt(recipe.size()), recipe.extents.size());  // past the end
}

TEST_F(RecipeTest, ExtentAtAgreesWithLinearScanOnRandomRecipes) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 50; ++round) {
    std::vector<uint64_t> ends;
    uint64_t end = 0;
    size_t count = 1 + rng() % 40;
    for (size_t i = 0; i < count; ++i) ends.push_back(end += 1 + rng() % 100);
    Recipe recipe = Make(ends);
    for (uint64_t offset = 0; offset < recipe.size(); ++offset) {
      size_t expected = 0;
      while (recipe.extents[expected].end <= offset) ++expected;
      ASSERT_EQ(recipe.ExtentAt(offset), expected) << offset;
    }
  }
}

TEST_F(RecipeTest, EmptyRecipeHasSizeZero) {
  Recipe recipe;
  EXPECT_EQ(recipe.size(), 0u);
  ASSERT_OK_AND_ASSIGN(Recipe decoded, Recipe::Decode(recipe.Encode()));
  EXPECT_TRUE(decoded.extents.empty());
}

TEST_F(RecipeTest, RoundTripsDigestsAndEnds) {
  Recipe recipe = Make({1, 65536, 65537, uint64_t{1} << 40});
  ASSERT_OK_AND_ASSIGN(Recipe decoded, Recipe::Decode(recipe.Encode()));
  ASSERT_EQ(decoded.extents.size(), recipe.extents.size());
  for (size_t i = 0; i < recipe.extents.size(); ++i) {
    EXPECT_EQ(decoded.extents[i].chunk, recipe.extents[i].chunk);
    EXPECT_EQ(decoded.extents[i].end, recipe.extents[i].end);
  }
}

TEST_F(RecipeTest, EmptyExtentIsCorruption) {
  Recipe recipe = Make({5, 5});
  EXPECT_STATUS_CODE(StatusCode::kCorruption, Recipe::Decode(recipe.Encode()));
}

TEST_F(RecipeTest, HugeExtentCountIsCorruption) {
  std::string encoded;
  PutVarint(encoded, uint64_t{1} << 50);
  encoded += std::string(64, 'x');
  EXPECT_STATUS_CODE(StatusCode::kCorruption, Recipe::Decode(encoded));
}

// Extent lengths whose sum wraps past 2^64 would give decreasing ends, which
// breaks ExtentAt's binary search and ReadFile's bounds.
TEST_F(RecipeTest, OverflowingExtentLengthsAreCorruption) {
  std::string encoded;
  PutVarint(encoded, 2);
  encoded.append(DigestOf("a").view());
  PutVarint(encoded, uint64_t{1} << 63);
  encoded.append(DigestOf("b").view());
  PutVarint(encoded, (uint64_t{1} << 63) + 5);
  EXPECT_STATUS_CODE(StatusCode::kCorruption, Recipe::Decode(encoded));
}

TEST_F(RecipeTest, TruncatedOrGarbledNeverCrashes) {
  CheckTruncationAndGarbling(Make({3, 70000, 70001}).Encode(),
                             [](std::string_view bytes) { return Recipe::Decode(bytes); });
}

class ChunkInfoTest : public ::testing::Test {};

TEST_F(ChunkInfoTest, RoundTrips) {
  for (uint64_t size : {uint64_t{0}, uint64_t{127}, uint64_t{128}, uint64_t{1} << 20,
                        std::numeric_limits<uint64_t>::max()}) {
    for (std::optional<Digest> base : {std::optional<Digest>(), std::optional(DigestOf("b"))}) {
      ChunkInfo info{static_cast<uint8_t>(size % 251), size, size / 2, base, {}};
      ASSERT_OK_AND_ASSIGN(ChunkInfo decoded, ChunkInfo::Decode(info.Encode()));
      EXPECT_EQ(decoded.dtype, info.dtype);
      EXPECT_EQ(decoded.raw_size, info.raw_size);
      EXPECT_EQ(decoded.stored_size, info.stored_size);
      EXPECT_EQ(decoded.base, info.base);
    }
  }
}

TEST_F(ChunkInfoTest, TruncatedOrGarbledNeverCrashes) {
  CheckTruncationAndGarbling(ChunkInfo{3, 1 << 20, 300000, std::nullopt, {}}.Encode(),
                             [](std::string_view bytes) { return ChunkInfo::Decode(bytes); });
  // The base is an optional trailer (infos written before deltas have none):
  // cut anywhere inside it, the info is refused; cut before it, it has none.
  const std::string with_base = ChunkInfo{3, 1 << 20, 300000, DigestOf("b"), {}}.Encode();
  for (size_t cut = with_base.size() - 31; cut < with_base.size(); ++cut) {
    EXPECT_STATUS_CODE(StatusCode::kCorruption,
                       ChunkInfo::Decode(std::string_view(with_base).substr(0, cut)));
  }
}

TEST_F(ChunkInfoTest, ABaseInSeveralPiecesKeepsThemAllInOrder) {
  const ChunkInfo info{1, 1 << 20, 900, DigestOf("b0"), {DigestOf("b1"), DigestOf("b2")}};
  Result<ChunkInfo> decoded = ChunkInfo::Decode(info.Encode());
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->Bases(),
            (std::vector<Digest>{DigestOf("b0"), DigestOf("b1"), DigestOf("b2")}));
  EXPECT_STATUS_CODE(StatusCode::kCorruption, ChunkInfo::Decode(info.Encode() + "x"));
}

class FileInfoTest : public ::testing::Test {
 protected:
  static FileInfo Sample() {
    FileInfo info;
    info.format = "safetensors";
    info.fallback_reason = "";
    info.tensors.push_back({"embed.weight", 3, "F32", {30522, 768}, 8, 93763584, DigestOf("e")});
    info.tensors.push_back({"scalar", 1, "I64", {}, 93763592, 8, DigestOf("s")});
    info.tensors.push_back({"odd", 0, "", {-1, 0, 1}, 0, 0, DigestOf("o")});
    return info;
  }
};

TEST_F(FileInfoTest, RoundTripsTensors) {
  FileInfo info = Sample();
  ASSERT_OK_AND_ASSIGN(FileInfo decoded, FileInfo::Decode(info.Encode()));
  EXPECT_EQ(decoded.format, info.format);
  EXPECT_EQ(decoded.fallback_reason, info.fallback_reason);
  ASSERT_EQ(decoded.tensors.size(), info.tensors.size());
  for (size_t i = 0; i < info.tensors.size(); ++i) {
    const TensorRecord& a = info.tensors[i];
    const TensorRecord& b = decoded.tensors[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.dtype, b.dtype);
    EXPECT_EQ(a.native_dtype, b.native_dtype);
    EXPECT_EQ(a.shape, b.shape);
    EXPECT_EQ(a.offset, b.offset);
    EXPECT_EQ(a.length, b.length);
    EXPECT_EQ(a.digest, b.digest);
  }
}

TEST_F(FileInfoTest, GenericWithReasonRoundTrips) {
  FileInfo info{"generic", "onnx: truncated protobuf", {}};
  ASSERT_OK_AND_ASSIGN(FileInfo decoded, FileInfo::Decode(info.Encode()));
  EXPECT_EQ(decoded.format, "generic");
  EXPECT_EQ(decoded.fallback_reason, "onnx: truncated protobuf");
  EXPECT_TRUE(decoded.tensors.empty());
}

TEST_F(FileInfoTest, TruncatedOrGarbledNeverCrashes) {
  CheckTruncationAndGarbling(Sample().Encode(),
                             [](std::string_view bytes) { return FileInfo::Decode(bytes); });
}

}  // namespace
}  // namespace re2po
