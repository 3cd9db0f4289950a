// Imports, removals and gc through the Store: round trips, dedup, version
// rules, failed imports that change nothing, space given back.
#include "store/store.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "store/base/coding.h"
#include "store/db/commit_record.h"
#include "store/db/db.h"
#include "store/db/keys.h"
#include "tests/store/store_fixture.h"

namespace re2po {
namespace {

TEST_F(StoreTest, ImportedFilesReadBackExactly) {
  const std::map<std::string, size_t> sizes = {{"empty", 0},
                                               {"one", 1},
                                               {"page-1.bin", 4095},
                                               {"sub/64k-plus-1.bin", 65537},
                                               {"sub/deeper/five-mib.bin", 5 << 20}};
  uint64_t total = 0;
  for (const auto& [path, size] : sizes) {
    WriteFileBytes(src(path), RandomBytes(size, size + 1));
    total += size;
  }
  fs::create_symlink("sub/64k-plus-1.bin", src("link"));
  ASSERT_OK_AND_ASSIGN(auto writer, Open(/*writer=*/true));
  ASSERT_OK_AND_ASSIGN(ImportSummary summary, Import(*writer, "model", 1, src("")));
  EXPECT_EQ(summary.version.file_count, sizes.size());
  EXPECT_EQ(summary.version.logical_bytes, total);
  EXPECT_EQ(summary.files.size(), sizes.size());
  for (const FileImportInfo& file : summary.files) EXPECT_EQ(file.format, "generic") << file.path;

  const VersionRecord* record = writer->Catalog()->FindVersion("model", 1);
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(record->digest, summary.version.digest);
  ASSERT_OK_AND_ASSIGN(auto tree, writer->Tree(*record));
  EXPECT_EQ(tree->ComputeDigest(), record->digest);
  auto link = tree->Find("link");
  ASSERT_TRUE(link.has_value());
  EXPECT_EQ(tree->entry(*link).type, EntryType::kSymlink);
  EXPECT_EQ(tree->entry(*link).target, "sub/64k-plus-1.bin");

  for (const auto& [path, size] : sizes) {
    ASSERT_OK_AND_ASSIGN(auto bytes, ReadVersionFile(*writer, "model", 1, path));
    EXPECT_TRUE(bytes == ReadFileBytes(src(path))) << path;
  }
  // The same through a fresh reader, from disk rather than the writer's memory.
  writer.reset();
  ASSERT_OK_AND_ASSIGN(auto reader, Open(/*writer=*/false));
  for (const auto& [path, size] : sizes) {
    ASSERT_OK_AND_ASSIGN(auto bytes, ReadVersionFile(*reader, "model", 1, path, 1 << 20));
    EXPECT_TRUE(bytes == ReadFileBytes(src(path))) << path;
  }
  ASSERT_OK_AND_ASSIGN(VerifyReport report, reader->Verify(nullptr));
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.files_checked, sizes.size());
}

TEST_F(StoreTest, ReimportingTheSameDirectoryStoresAlmostNothing) {
  WriteFileBytes(src("a.bin"), RandomBytes(3 << 20, 1));
  WriteFileBytes(src("b/b.bin"), RandomBytes(1 << 20, 2));
  WriteFileText(src("config.json"), "{\"hidden\": 768}");
  ASSERT_OK_AND_ASSIGN(auto writer, Open(/*writer=*/true));
  ASSERT_OK_AND_ASSIGN(ImportSummary first, Import(*writer, "m", 1, src("")));
  EXPECT_GT(first.version.new_bytes, (4u << 20) * 9 / 10);  // random data: stored whole
  ASSERT_OK_AND_ASSIGN(ImportSummary second, Import(*writer, "m", 2, src("")));
  EXPECT_LT(second.version.new_bytes * 100, second.version.logical_bytes)
      << second.version.new_bytes << " new bytes for " << second.version.logical_bytes;
  EXPECT_EQ(second.new_chunks, 0u);
  EXPECT_EQ(second.version.digest, first.version.digest);  // same content, same id
  // Another model with the same files shares them too.
  ASSERT_OK_AND_ASSIGN(ImportSummary other, Import(*writer, "other", 1, src("")));
  EXPECT_EQ(other.version.new_bytes, 0u);
}

TEST_F(StoreTest, AnInsertionStoresOnlyTheChunksAroundIt) {
  std::vector<uint8_t> data = RandomBytes(8 << 20, 3);
  WriteFileBytes(src("v1/w.bin"), data);
  std::vector<uint8_t> insert = RandomBytes(100, 4);
  data.insert(data.begin() + (1 << 20), insert.begin(), insert.end());
  WriteFileBytes(src("v2/w.bin"), data);
  ASSERT_OK_AND_ASSIGN(auto writer, Open(/*writer=*/true));
  ASSERT_OK(Import(*writer, "m", 1, src("v1")).status());
  ASSERT_OK_AND_ASSIGN(ImportSummary second, Import(*writer, "m", 2, src("v2")));
  EXPECT_LT(second.version.new_bytes * 10, data.size()) << second.version.new_bytes;
  ASSERT_OK_AND_ASSIGN(auto bytes, ReadVersionFile(*writer, "m", 2, "w.bin"));
  EXPECT_TRUE(bytes == data);
}

TEST_F(StoreTest, ExistingVersionIsAlreadyExistsAndTheStoreIsUnchanged) {
  WriteFileBytes(src("v1/w.bin"), RandomBytes(200000, 1));
  WriteFileBytes(src("v2/w.bin"), RandomBytes(200000, 2));
  ASSERT_OK_AND_ASSIGN(auto writer, Open(/*writer=*/true));
  ASSERT_OK(Import(*writer, "m", 3, src("v1")).status());
  uint64_t generation = writer->Catalog()->generation();
  ASSERT_OK_AND_ASSIGN(StoreStats before, writer->Stats());
  EXPECT_STATUS_CODE(StatusCode::kAlreadyExists, Import(*writer, "m", 3, src("v2")));
  EXPECT_EQ(writer->Catalog()->generation(), generation);
  ASSERT_OK_AND_ASSIGN(StoreStats after, writer->Stats());
  EXPECT_EQ(after.chunk_count, before.chunk_count);
  EXPECT_EQ(after.versions, 1u);
  ASSERT_OK_AND_ASSIGN(auto bytes, ReadVersionFile(*writer, "m", 3, "w.bin"));
  EXPECT_TRUE(bytes == ReadFileBytes(src("v1/w.bin")));
  // Also after a reopen: the refusal wrote nothing durable either.
  writer.reset();
  ASSERT_OK_AND_ASSIGN(auto reader, Open(/*writer=*/false));
  EXPECT_EQ(reader->Catalog()->generation(), generation);
}

TEST_F(StoreTest, ImportWithoutVersionTakesLatestPlusOne) {
  WriteFileText(src("f"), "x");
  ASSERT_OK_AND_ASSIGN(auto writer, Open(/*writer=*/true));
  ASSERT_OK_AND_ASSIGN(ImportSummary first, Import(*writer, "m", std::nullopt, src("")));
  EXPECT_EQ(first.version.version, 1u);
  ASSERT_OK(Import(*writer, "m", 7, src("")).status());
  ASSERT_OK_AND_ASSIGN(ImportSummary next, Import(*writer, "m", std::nullopt, src("")));
  EXPECT_EQ(next.version.version, 8u);
  ASSERT_OK(Import(*writer, "m", 5, src("")).status());  // an older gap may be filled
  ASSERT_OK_AND_ASSIGN(ImportSummary after_gap, Import(*writer, "m", std::nullopt, src("")));
  EXPECT_EQ(after_gap.version.version, 9u);
  ASSERT_OK_AND_ASSIGN(ImportSummary other, Import(*writer, "other", std::nullopt, src("")));
  EXPECT_EQ(other.version.version, 1u);
  const ModelEntry* model = writer->Catalog()->FindModel("m");
  ASSERT_NE(model, nullptr);
  std::vector<uint64_t> versions;
  for (const VersionRecord& v : model->versions) versions.push_back(v.version);
  EXPECT_EQ(versions, (std::vector<uint64_t>{1, 5, 7, 8, 9}));
  // Sequence numbers are unique store-wide.
  std::set<uint64_t> seqs;
  for (const ModelEntry& m : writer->Catalog()->models()) {
    for (const VersionRecord& v : m.versions) EXPECT_TRUE(seqs.insert(v.seq).second);
  }
}

TEST_F(StoreTest, BadImportsChangeNothing) {
  WriteFileText(src("f"), "x");
  ASSERT_OK_AND_ASSIGN(auto writer, Open(/*writer=*/true));
  EXPECT_STATUS_CODE(StatusCode::kInvalidArgument, Import(*writer, "../escape", 1, src("")));
  EXPECT_STATUS_CODE(StatusCode::kNotFound, Import(*writer, "m", 1, src("missing")));
  EXPECT_EQ(writer->Catalog()->generation(), 0u);
  EXPECT_TRUE(writer->Catalog()->models().empty());
}

TEST_F(StoreTest, RemoveThenCollectGarbageFreesTheChunks) {
  // v1 is small; v2 adds a big file and keeps v1's: only v2's own chunks go.
  WriteFileBytes(src("v1/small.bin"), RandomBytes(1 << 20, 1));
  WriteFileBytes(src("v2/small.bin"), RandomBytes(1 << 20, 1));
  const size_t big_size = Scaled(20 << 20, 8 << 20);
  WriteFileBytes(src("v2/big.bin"), RandomBytes(big_size, 2));
  ASSERT_OK_AND_ASSIGN(auto writer, Open(/*writer=*/true));
  ASSERT_OK(Import(*writer, "m", 1, src("v1")).status());
  ASSERT_OK_AND_ASSIGN(StoreStats only_v1, writer->Stats());
  ASSERT_OK(Import(*writer, "m", 2, src("v2")).status());
  ASSERT_OK_AND_ASSIGN(auto big_recipe, RecipeOf(*writer, "m", 2, "big.bin"));
  Digest big_chunk = big_recipe->extents.front().chunk;
  ASSERT_OK_AND_ASSIGN(StoreStats both, writer->Stats());
  EXPECT_GT(both.chunk_count, only_v1.chunk_count);

  ASSERT_OK(writer->Remove("m", 2));
  EXPECT_EQ(writer->Catalog()->FindVersion("m", 2), nullptr);
  ASSERT_OK_AND_ASSIGN(StoreStats removed, writer->Stats());
  EXPECT_EQ(removed.chunk_count, both.chunk_count);  // nothing freed before gc

  ASSERT_OK_AND_ASSIGN(GcSummary gc, writer->CollectGarbage(nullptr));
  EXPECT_EQ(gc.chunks_removed, both.chunk_count - only_v1.chunk_count);
  EXPECT_EQ(gc.recipes_removed, 1u);
  EXPECT_GE(gc.bytes_removed, big_size);
  ASSERT_OK_AND_ASSIGN(StoreStats after, writer->Stats());
  EXPECT_EQ(after.chunk_count, only_v1.chunk_count);
  EXPECT_EQ(after.unique_bytes, only_v1.unique_bytes);
  EXPECT_LT(after.disk_bytes + big_size / 2, removed.disk_bytes)
      << "disk bytes " << removed.disk_bytes << " -> " << after.disk_bytes;
  EXPECT_LT(gc.disk_bytes_after, gc.disk_bytes_before);

  EXPECT_STATUS_CODE(StatusCode::kNotFound, writer->ReadChunk(big_chunk));
  ASSERT_OK_AND_ASSIGN(auto small, ReadVersionFile(*writer, "m", 1, "small.bin"));
  EXPECT_TRUE(small == ReadFileBytes(src("v1/small.bin")));
  ASSERT_OK_AND_ASSIGN(VerifyReport report, writer->Verify(nullptr));
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.chunks_checked, only_v1.chunk_count);
}

TEST_F(StoreTest, RemovingTheLastVersionRemovesTheModel) {
  WriteFileText(src("f"), "x");
  ASSERT_OK_AND_ASSIGN(auto writer, Open(/*writer=*/true));
  ASSERT_OK(Import(*writer, "m", 1, src("")).status());
  ASSERT_OK(Import(*writer, "m", 2, src("")).status());
  ASSERT_OK(writer->Remove("m", 1));
  EXPECT_NE(writer->Catalog()->FindModel("m"), nullptr);
  ASSERT_OK(writer->Remove("m", 2));
  EXPECT_EQ(writer->Catalog()->FindModel("m"), nullptr);
  EXPECT_STATUS_CODE(StatusCode::kNotFound, writer->Remove("m", 2));
  EXPECT_STATUS_CODE(StatusCode::kNotFound, writer->Remove("nobody", 1));
  writer.reset();
  ASSERT_OK_AND_ASSIGN(auto reader, Open(/*writer=*/false));
  EXPECT_TRUE(reader->Catalog()->models().empty());
}

// The writer is closed before each Refresh so that no background compaction
// races the reader's reopen: that race is covered (and currently fails) in
// ReaderPollingDuringImportsNeverSeesAPartialVersion below.

}  // namespace
}  // namespace re2po
