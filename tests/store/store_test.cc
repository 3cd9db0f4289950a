// The Store against a real RocksDB in a temporary directory: init and open
// errors, import/read round trips, dedup, version rules, remove + gc,
// reader visibility, the writer lock, and damaged chunks.
#include "store/store.h"

#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "store/coding.h"
#include "store/commit_record.h"
#include "store/db.h"
#include "store/keys.h"
#include "tests/store/store_testutil.h"

namespace re2po {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::RandomBytes;
using testing::ReadFileBytes;
using testing::Scaled;
using testing::TempDir;
using testing::WriteFileBytes;
using testing::WriteFileText;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(Store::Init(store_dir())); }

  fs::path store_dir() const { return tmp_.path() / "store"; }
  fs::path src(const std::string& relative) const { return tmp_.path() / "src" / relative; }

  Result<std::unique_ptr<Store>> Open(bool writer, std::chrono::seconds lock_timeout = 300s,
                                      std::function<void(const std::string&)> on_wait = {}) {
    StoreOptions options;
    options.dir = store_dir();
    options.writer = writer;
    options.lock_timeout = lock_timeout;
    options.on_lock_wait = std::move(on_wait);
    return Store::Open(options);
  }

  static Result<ImportSummary> Import(Store& store, const std::string& model,
                                      std::optional<uint64_t> version, const fs::path& source) {
    ImportRequest request;
    request.model = model;
    request.version = version;
    request.source = source;
    request.codec.zstd_level = 3;
    return store.Import(request);
  }

  // Reads a whole file of a version through ReadFile, `piece` bytes a call.
  static Result<std::vector<uint8_t>> ReadVersionFile(Store& store, std::string_view model,
                                                      uint64_t version, std::string_view path,
                                                      size_t piece = 100003) {
    const VersionRecord* record = store.Catalog()->FindVersion(model, version);
    if (record == nullptr) return Status::NotFound("no such version in the catalog");
    ASSIGN_OR_RETURN(auto tree, store.Tree(*record));
    std::optional<uint32_t> index = tree->Find(path);
    if (!index) return Status::NotFound("no such path in the tree");
    const TreeEntry& entry = tree->entry(*index);
    ASSIGN_OR_RETURN(auto recipe, store.FileRecipe(entry.digest));
    if (recipe->size() != entry.size) return Status::Corruption("recipe size != entry size");
    std::vector<uint8_t> out(entry.size);
    for (uint64_t done = 0; done < out.size();) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(piece, out.size() - done));
      ASSIGN_OR_RETURN(size_t got,
                       store.ReadFile(*recipe, done, std::span(out).subspan(done, want)));
      if (got == 0) return Status::Corruption("ReadFile returned 0 before EOF");
      done += got;
    }
    std::vector<uint8_t> past(16);
    ASSIGN_OR_RETURN(size_t past_eof, store.ReadFile(*recipe, entry.size, past));
    if (past_eof != 0) return Status::Corruption("ReadFile read past EOF");
    return out;
  }

  static Result<std::shared_ptr<const Recipe>> RecipeOf(Store& store, std::string_view model,
                                                        uint64_t version, std::string_view path) {
    const VersionRecord* record = store.Catalog()->FindVersion(model, version);
    if (record == nullptr) return Status::NotFound("no such version in the catalog");
    ASSIGN_OR_RETURN(auto tree, store.Tree(*record));
    std::optional<uint32_t> index = tree->Find(path);
    if (!index) return Status::NotFound("no such path in the tree");
    return store.FileRecipe(tree->entry(*index).digest);
  }

  // Every file below `dir`: relative path -> (size, mtime), to prove nothing changed.
  static std::map<std::string, std::pair<uint64_t, int64_t>> Listing(const fs::path& dir) {
    std::map<std::string, std::pair<uint64_t, int64_t>> listing;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      auto rel = fs::relative(entry.path(), dir).string();
      uint64_t size = entry.is_regular_file() ? entry.file_size() : 0;
      listing[rel] = {size, entry.last_write_time().time_since_epoch().count()};
    }
    return listing;
  }

  TempDir tmp_;
};

TEST_F(StoreTest, InitThenOpenAnEmptyStore) {
  ASSERT_OK_AND_ASSIGN(auto writer, Open(/*writer=*/true));
  EXPECT_EQ(writer->Catalog()->generation(), 0u);
  EXPECT_TRUE(writer->Catalog()->models().empty());
  ASSERT_OK_AND_ASSIGN(StoreStats stats, writer->Stats());
  EXPECT_EQ(stats.models, 0u);
  EXPECT_EQ(stats.chunk_count, 0u);
  EXPECT_GT(stats.disk_bytes, 0u);
  EXPECT_EQ(writer->dir(), store_dir());
  writer.reset();
  ASSERT_OK_AND_ASSIGN(auto reader, Open(/*writer=*/false));
  EXPECT_TRUE(reader->Catalog()->models().empty());
}

TEST_F(StoreTest, ReaderCannotWrite) {
  WriteFileText(src("f"), "x");
  ASSERT_OK_AND_ASSIGN(auto reader, Open(/*writer=*/false));
  EXPECT_STATUS_CODE(StatusCode::kBusy, Import(*reader, "m", 1, src("")));
  EXPECT_STATUS_CODE(StatusCode::kBusy, reader->Remove("m", 1));
  EXPECT_STATUS_CODE(StatusCode::kBusy, reader->CollectGarbage(nullptr));
}

TEST_F(StoreTest, InitOnAnExistingStoreIsAlreadyExists) {
  EXPECT_STATUS_CODE(StatusCode::kAlreadyExists, Store::Init(store_dir()));
  ASSERT_OK_AND_ASSIGN(auto writer, Open(/*writer=*/true));  // still usable
}

TEST_F(StoreTest, InitOnANonEmptyDirectoryFailsAndLeavesItAlone) {
  fs::path dir = tmp_.path() / "busy";
  WriteFileText(dir / "notes.txt", "mine");
  auto before = Listing(dir);
  EXPECT_STATUS_CODE(StatusCode::kInvalidArgument, Store::Init(dir));
  EXPECT_EQ(Listing(dir), before);
}

TEST_F(StoreTest, OpenOfAMissingDirectoryIsNotFoundMentioningInit) {
  StoreOptions options;
  options.dir = tmp_.path() / "nowhere";
  for (bool writer : {false, true}) {
    options.writer = writer;
    auto store = Store::Open(options);
    EXPECT_STATUS_CODE(StatusCode::kNotFound, store);
    if (!store.ok()) {
      EXPECT_NE(store.status().message().find("re2po init"), std::string::npos)
          << store.status().message();
    }
  }
  EXPECT_FALSE(fs::exists(options.dir));
}

TEST_F(StoreTest, NewerSchemaIsUnsupportedNamingTheSchema) {
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Db> db, Db::Open(store_dir() / "db", Db::Mode::kWriter));
    std::string value;
    PutFixed32(value, 99);
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(batch.Put(db->cf(Cf::kMeta), std::string(keys::kSchema), value).ok());
    ASSERT_OK(db->Write(batch, /*durable=*/true));
  }
  for (bool writer : {true, false}) {
    auto store = Open(writer);
    EXPECT_STATUS_CODE(StatusCode::kUnsupported, store);
    if (!store.ok()) {
      EXPECT_NE(store.status().message().find("schema 99"), std::string::npos)
          << store.status().message();
    }
  }
}

TEST_F(StoreTest, MissingSchemaIsCorruption) {
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Db> db, Db::Open(store_dir() / "db", Db::Mode::kWriter));
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(batch.Delete(db->cf(Cf::kMeta), std::string(keys::kSchema)).ok());
    ASSERT_OK(db->Write(batch, /*durable=*/true));
  }
  EXPECT_STATUS_CODE(StatusCode::kCorruption, Open(/*writer=*/false));
}

TEST_F(StoreTest, MissingCurrentIsCorruptionAndWritesNothing) {
  ASSERT_TRUE(fs::remove(store_dir() / "db" / "CURRENT"));
  auto before = Listing(store_dir());
  for (bool writer : {true, false}) {
    auto store = Open(writer);
    EXPECT_STATUS_CODE(StatusCode::kCorruption, store);
    if (!store.ok()) {
      EXPECT_NE(store.status().message().find("CURRENT"), std::string::npos)
          << store.status().message();
    }
  }
  EXPECT_EQ(Listing(store_dir()), before);
  EXPECT_FALSE(fs::exists(store_dir() / "db" / "CURRENT"));
}

// An older copy of db/ put back under a newer last-commit record (a partial
// restore, a torn MANIFEST) would silently lose versions: refused, for readers
// and writers, naming the generations, and nothing is written.
TEST_F(StoreTest, DatabaseOlderThanItsLastCommitRecordIsRefused) {
  WriteFileText(src("v/f"), "x");
  const fs::path old_db = tmp_.path() / "old-db";
  fs::copy(store_dir() / "db", old_db, fs::copy_options::recursive);
  {
    ASSERT_OK_AND_ASSIGN(auto writer, Open(/*writer=*/true));
    ASSERT_OK(Import(*writer, "m", 1, src("v")).status());
  }
  ASSERT_TRUE(fs::exists(store_dir() / kCommitRecordName));
  fs::remove_all(store_dir() / "db");
  fs::copy(old_db, store_dir() / "db", fs::copy_options::recursive);
  auto before = Listing(store_dir());
  for (bool writer : {true, false}) {
    auto store = Open(writer);
    EXPECT_STATUS_CODE(StatusCode::kCorruption, store);
    if (!store.ok()) {
      EXPECT_NE(store.status().message().find("generation 0, older than the 1"), std::string::npos)
          << store.status().message();
    }
  }
  auto after = Listing(store_dir());
  before.erase("writer.lock");  // a writer records its pid there by design
  after.erase("writer.lock");
  EXPECT_EQ(after, before);
  // An admin who means to roll back removes the record (docs/operations.md).
  fs::remove(store_dir() / kCommitRecordName);
  ASSERT_OK_AND_ASSIGN(auto rolled_back, Open(/*writer=*/true));
  EXPECT_EQ(rolled_back->Catalog()->FindVersion("m", 1), nullptr);
  EXPECT_TRUE(fs::exists(store_dir() / kCommitRecordName));  // recorded again
}

TEST(CommitRecordTest, RoundTripsAndRejectsWhatItDidNotWrite) {
  CommitRecord record{42, "MANIFEST-000017", 9001};
  std::optional<CommitRecord> decoded = DecodeCommitRecord(EncodeCommitRecord(record));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->generation, 42u);
  EXPECT_EQ(decoded->manifest, "MANIFEST-000017");
  EXPECT_EQ(decoded->manifest_size, 9001u);
  EXPECT_TRUE(DecodeCommitRecord(EncodeCommitRecord(record) + "later_key 7\n").has_value());
  for (const std::string bad :
       {"", "re2po-last-commit 2\ngeneration 1\nmanifest MANIFEST-1\nmanifest_size 1\n",
        "re2po-last-commit 1\ngeneration x\nmanifest MANIFEST-1\nmanifest_size 1\n",
        "re2po-last-commit 1\ngeneration 1\nmanifest ../MANIFEST-1\nmanifest_size 1\n",
        "re2po-last-commit 1\ngeneration 1\nmanifest MANIFEST-1\n"}) {
    EXPECT_FALSE(DecodeCommitRecord(bad).has_value()) << bad;
  }
}

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

TEST_F(StoreTest, ReadsAcrossEveryChunkBoundary) {
  std::vector<uint8_t> data = RandomBytes(3 << 20, 5);
  WriteFileBytes(src("f.bin"), data);
  ASSERT_OK_AND_ASSIGN(auto writer, Open(/*writer=*/true));
  ASSERT_OK(Import(*writer, "m", 1, src("")).status());
  ASSERT_OK_AND_ASSIGN(auto recipe, RecipeOf(*writer, "m", 1, "f.bin"));
  ASSERT_GT(recipe->extents.size(), 3u);
  for (size_t i = 0; i + 1 < recipe->extents.size(); ++i) {
    uint64_t boundary = recipe->extents[i].end;
    std::vector<uint8_t> out(7);
    ASSERT_OK_AND_ASSIGN(size_t got, writer->ReadFile(*recipe, boundary - 3, out));
    ASSERT_EQ(got, 7u);
    EXPECT_TRUE(std::equal(out.begin(), out.end(), data.begin() + (boundary - 3))) << boundary;
  }
  // A read running over the end is cut short; an empty buffer reads nothing.
  std::vector<uint8_t> tail(100);
  ASSERT_OK_AND_ASSIGN(size_t got, writer->ReadFile(*recipe, data.size() - 10, tail));
  EXPECT_EQ(got, 10u);
  EXPECT_TRUE(std::equal(tail.begin(), tail.begin() + 10, data.end() - 10));
  ASSERT_OK_AND_ASSIGN(size_t none, writer->ReadFile(*recipe, 0, std::span<uint8_t>()));
  EXPECT_EQ(none, 0u);
  ASSERT_OK_AND_ASSIGN(size_t beyond, writer->ReadFile(*recipe, data.size() + 1000, tail));
  EXPECT_EQ(beyond, 0u);
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
TEST_F(StoreTest, ReaderSeesANewVersionOnlyAfterRefresh) {
  WriteFileBytes(src("v1/a.bin"), RandomBytes(300000, 1));
  for (int i = 0; i < 5; ++i) {
    WriteFileBytes(src("v2/f" + std::to_string(i) + ".bin"), RandomBytes(200000 + i, 10 + i));
  }
  ASSERT_OK_AND_ASSIGN(auto writer, Open(/*writer=*/true));
  ASSERT_OK(Import(*writer, "m", 1, src("v1")).status());
  ASSERT_OK_AND_ASSIGN(auto reader, Open(/*writer=*/false));
  ASSERT_NE(reader->Catalog()->FindVersion("m", 1), nullptr);
  ASSERT_OK_AND_ASSIGN(bool changed, reader->Refresh());
  EXPECT_FALSE(changed);

  ASSERT_OK(Import(*writer, "m", 2, src("v2")).status());
  writer.reset();
  EXPECT_EQ(reader->Catalog()->FindVersion("m", 2), nullptr);
  ASSERT_OK_AND_ASSIGN(changed, reader->Refresh());
  EXPECT_TRUE(changed);
  ASSERT_NE(reader->Catalog()->FindVersion("m", 2), nullptr);
  for (int i = 0; i < 5; ++i) {
    std::string name = "f" + std::to_string(i) + ".bin";
    ASSERT_OK_AND_ASSIGN(auto bytes, ReadVersionFile(*reader, "m", 2, name));
    EXPECT_TRUE(bytes == ReadFileBytes(src("v2/" + name))) << name;
  }
  ASSERT_OK_AND_ASSIGN(changed, reader->Refresh());
  EXPECT_FALSE(changed);

  ASSERT_OK_AND_ASSIGN(writer, Open(/*writer=*/true));
  ASSERT_OK(writer->Remove("m", 1));
  writer.reset();
  EXPECT_NE(reader->Catalog()->FindVersion("m", 1), nullptr);
  ASSERT_OK_AND_ASSIGN(changed, reader->Refresh());
  EXPECT_TRUE(changed);
  EXPECT_EQ(reader->Catalog()->FindVersion("m", 1), nullptr);
  EXPECT_NE(reader->Catalog()->FindVersion("m", 2), nullptr);
}

// A reader polling while a writer imports must see each version whole or
// not at all, and Refresh must never fail on account of the writer.
// A read-only open racing a writer's flush could replay the commit from the
// WAL without the flushed recipes, or miss an SST a compaction deleted;
// OpenStableReader (store_open.cc) reopens until the database is unchanged
// across the open. This test failed on every run before that.
TEST_F(StoreTest, ReaderPollingDuringImportsNeverSeesAPartialVersion) {
  const int kVersions = static_cast<int>(Scaled(6, 3));
  const int kFiles = 8;
  for (int v = 1; v <= kVersions; ++v) {
    for (int f = 0; f < kFiles; ++f) {
      WriteFileBytes(src("v" + std::to_string(v) + "/f" + std::to_string(f)),
                     RandomBytes(100000 + f * 1000, v * 100 + f));
    }
  }
  ASSERT_OK_AND_ASSIGN(auto writer, Open(/*writer=*/true));
  ASSERT_OK_AND_ASSIGN(auto reader, Open(/*writer=*/false));
  std::atomic<bool> done{false};
  Status import_status;
  std::thread importer([&] {
    for (int v = 1; v <= kVersions && import_status.ok(); ++v) {
      import_status = testing::StatusOf(
          Import(*writer, "m", static_cast<uint64_t>(v), src("v" + std::to_string(v))));
    }
    done = true;
  });
  std::set<int> checked;
  int polls = 0;
  std::vector<std::string> refresh_errors;
  auto check_visible = [&] {
    for (int v = 1; v <= kVersions; ++v) {
      if (checked.contains(v) || !reader->Catalog()->FindVersion("m", v)) continue;
      for (int f = 0; f < kFiles; ++f) {
        std::string name = "f" + std::to_string(f);
        auto bytes = ReadVersionFile(*reader, "m", v, name);
        ASSERT_TRUE(bytes.ok()) << "m@" << v << ":" << name << ": " << bytes.status().ToString();
        EXPECT_TRUE(*bytes == ReadFileBytes(src("v" + std::to_string(v) + "/" + name)));
      }
      checked.insert(v);
    }
  };
  while (!done) {
    ++polls;
    auto refreshed = reader->Refresh();
    if (!refreshed.ok()) refresh_errors.push_back(refreshed.status().ToString());
    check_visible();
    if (::testing::Test::HasFatalFailure()) break;
  }
  importer.join();
  ASSERT_OK(import_status);
  ASSERT_OK(reader->Refresh().status());
  check_visible();
  EXPECT_EQ(checked.size(), static_cast<size_t>(kVersions));
  EXPECT_TRUE(refresh_errors.empty()) << refresh_errors.size() << " of " << polls
                                      << " refreshes failed; first: " << refresh_errors.front();
}

// Refresh may be called from several threads at once (the mount's
// refresher, and readers catching up after gc deleted a blob file): the
// catalog they publish must never go back to an older generation.
TEST_F(StoreTest, ConcurrentRefreshesNeverPublishAnOlderCatalog) {
  const int kVersions = static_cast<int>(Scaled(30, 15));
  ASSERT_OK_AND_ASSIGN(auto writer, Open(/*writer=*/true));
  ASSERT_OK_AND_ASSIGN(auto reader, Open(/*writer=*/false));
  std::atomic<bool> done{false};
  std::atomic<uint64_t> newest_seen{0}, refreshes{0}, regressions{0}, failures{0};
  std::vector<std::jthread> refreshers;
  for (int i = 0; i < 4; ++i) {
    refreshers.emplace_back([&] {
      while (!done) {
        const uint64_t floor = newest_seen.load();
        const uint64_t seen = reader->Catalog()->generation();
        if (seen < floor) ++regressions;
        uint64_t newest = newest_seen.load();
        while (seen > newest && !newest_seen.compare_exchange_weak(newest, seen)) {
        }
        ++(reader->Refresh().ok() ? refreshes : failures);
      }
    });
  }
  for (int v = 1; v <= kVersions; ++v) {
    WriteFileBytes(src("v" + std::to_string(v) + "/f"), RandomBytes(20000, v));
    ASSERT_OK(testing::StatusOf(
        Import(*writer, "m", static_cast<uint64_t>(v), src("v" + std::to_string(v)))));
  }
  done = true;
  refreshers.clear();
  ASSERT_OK(reader->Refresh().status());
  EXPECT_EQ(reader->Catalog()->FindModel("m")->versions.size(), static_cast<size_t>(kVersions));
  EXPECT_EQ(regressions, 0u) << "of " << refreshes << " refreshes";
  EXPECT_EQ(failures, 0u);
  EXPECT_GT(refreshes, static_cast<uint64_t>(kVersions));
}

TEST_F(StoreTest, SecondWriterWaitsThenTimesOutBusy) {
  ASSERT_OK_AND_ASSIGN(auto first, Open(/*writer=*/true));
  std::vector<std::string> messages;
  auto started = std::chrono::steady_clock::now();
  auto second =
      Open(/*writer=*/true, 1s, [&](const std::string& message) { messages.push_back(message); });
  auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_STATUS_CODE(StatusCode::kBusy, second);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].find("pid " + std::to_string(getpid())), std::string::npos) << messages[0];
  EXPECT_GE(waited, 900ms);
  EXPECT_LT(waited, 10s);
  // Readers never wait for the writer.
  ASSERT_OK_AND_ASSIGN(auto reader, Open(/*writer=*/false));
}

TEST_F(StoreTest, SecondWriterProceedsWhenTheFirstCloses) {
  ASSERT_OK_AND_ASSIGN(auto first, Open(/*writer=*/true));
  std::atomic<bool> waiting{false};
  Status second_status;
  std::unique_ptr<Store> second;
  std::thread opener([&] {
    auto opened = Open(/*writer=*/true, 60s, [&](const std::string&) { waiting = true; });
    second_status = testing::StatusOf(opened);
    if (opened.ok()) second = std::move(opened).value();
  });
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!waiting && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(waiting.load());
  EXPECT_EQ(second, nullptr);
  first.reset();
  opener.join();
  ASSERT_OK(second_status);
  WriteFileText(src("f"), "x");
  ASSERT_OK(Import(*second, "m", 1, src("")).status());
}

// Each small import flushes a file or two of random digests per family,
// which leveled compaction moves down whole rather than merging: without the
// writer's merge at close, 72 one-file imports leave about 72 files in each
// of recipes, file_info, chunks and chunk_info, all opened by every open.
TEST_F(StoreTest, ManySmallImportsLeaveFewDatabaseFiles) {
  constexpr int kImports = 72;
  for (int i = 1; i <= kImports; ++i) {
    WriteFileBytes(src("v/w.bin"), RandomBytes(4096, 1000 + i));
    ASSERT_OK_AND_ASSIGN(auto writer, Open(/*writer=*/true));
    ASSERT_OK(Import(*writer, "m", i, src("v")).status());
  }
  ASSERT_OK_AND_ASSIGN(auto db, Db::Open(store_dir() / "db", Db::Mode::kReader));
  std::vector<rocksdb::LiveFileMetaData> files;
  db->raw()->GetLiveFilesMetaData(&files);
  std::map<std::string, int> per_family;
  for (const auto& file : files) ++per_family[file.column_family_name];
  for (const auto& [family, count] : per_family) {
    EXPECT_LE(count, 40) << family << " is fragmented into " << count << " files";
  }
  ASSERT_OK_AND_ASSIGN(auto reader, Open(/*writer=*/false));
  EXPECT_EQ(reader->Catalog()->FindModel("m")->versions.size(), static_cast<size_t>(kImports));
}

class StoreCorruptionTest : public StoreTest {
 protected:
  // Offsets of `needle` in every *.blob file of the database.
  std::vector<std::pair<fs::path, size_t>> FindInBlobFiles(const std::vector<uint8_t>& needle) {
    std::vector<std::pair<fs::path, size_t>> hits;
    for (const auto& entry : fs::directory_iterator(store_dir() / "db")) {
      if (entry.path().extension() != ".blob") continue;
      std::vector<uint8_t> bytes = ReadFileBytes(entry.path());
      auto it = bytes.begin();
      while ((it = std::search(it, bytes.end(), needle.begin(), needle.end())) != bytes.end()) {
        hits.emplace_back(entry.path(), static_cast<size_t>(it - bytes.begin()));
        ++it;
      }
    }
    return hits;
  }

  static void FlipBytes(const fs::path& path, size_t offset, size_t count) {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    std::vector<char> bytes(count);
    file.seekg(static_cast<std::streamoff>(offset));
    file.read(bytes.data(), static_cast<std::streamsize>(count));
    for (char& byte : bytes) byte = static_cast<char>(~byte);
    file.seekp(static_cast<std::streamoff>(offset));
    file.write(bytes.data(), static_cast<std::streamsize>(count));
  }
};

TEST_F(StoreCorruptionTest, DamagedChunkIsAnErrorNeverWrongBytesAndVerifyNamesIt) {
  std::vector<uint8_t> damaged = RandomBytes(1 << 20, 101);
  std::vector<uint8_t> intact = RandomBytes(1 << 20, 202);
  WriteFileBytes(src("damaged.bin"), damaged);
  WriteFileBytes(src("intact.bin"), intact);
  Digest victim;
  size_t victim_index = 0;
  std::vector<uint8_t> needle;
  {
    ASSERT_OK_AND_ASSIGN(auto writer, Open(/*writer=*/true));
    ImportRequest request;
    request.model = "m";
    request.version = 1;
    request.source = src("");
    request.codec.zstd_level = 19;  // random bytes stay raw at any level
    ASSERT_OK(writer->Import(request).status());
    ASSERT_OK_AND_ASSIGN(auto recipe, RecipeOf(*writer, "m", 1, "damaged.bin"));
    ASSERT_GE(recipe->extents.size(), 3u);
    victim_index = recipe->extents.size() / 2;
    victim = recipe->extents[victim_index].chunk;
    uint64_t start = recipe->StartOf(victim_index);
    uint64_t middle = start + (recipe->extents[victim_index].end - start) / 2;
    needle.assign(damaged.begin() + middle, damaged.begin() + middle + 64);
  }
  auto hits = FindInBlobFiles(needle);
  ASSERT_EQ(hits.size(), 1u) << "the chunk payload should sit raw in exactly one blob file";
  FlipBytes(hits[0].first, hits[0].second, needle.size());

  ASSERT_OK_AND_ASSIGN(auto reader, Open(/*writer=*/false));
  auto chunk = reader->ReadChunk(victim);
  ASSERT_FALSE(chunk.ok()) << "damaged chunk read as OK";
  EXPECT_TRUE(chunk.status().code() == StatusCode::kCorruption ||
              chunk.status().code() == StatusCode::kIOError)
      << chunk.status().ToString();

  auto whole = ReadVersionFile(*reader, "m", 1, "damaged.bin");
  ASSERT_FALSE(whole.ok()) << "a file with a damaged chunk read as OK";
  EXPECT_TRUE(whole.status().code() == StatusCode::kCorruption ||
              whole.status().code() == StatusCode::kIOError)
      << whole.status().ToString();

  // Ranges that avoid the damaged chunk still read, and correctly.
  ASSERT_OK_AND_ASSIGN(auto recipe, RecipeOf(*reader, "m", 1, "damaged.bin"));
  std::vector<uint8_t> head(recipe->StartOf(victim_index));
  ASSERT_OK_AND_ASSIGN(size_t got, reader->ReadFile(*recipe, 0, head));
  ASSERT_EQ(got, head.size());
  EXPECT_TRUE(std::equal(head.begin(), head.end(), damaged.begin()));
  uint64_t after = recipe->extents[victim_index].end;
  std::vector<uint8_t> rest(damaged.size() - after);
  ASSERT_OK_AND_ASSIGN(got, reader->ReadFile(*recipe, after, rest));
  ASSERT_EQ(got, rest.size());
  EXPECT_TRUE(std::equal(rest.begin(), rest.end(), damaged.begin() + after));
  ASSERT_OK_AND_ASSIGN(auto intact_read, ReadVersionFile(*reader, "m", 1, "intact.bin"));
  EXPECT_TRUE(intact_read == intact);

  ASSERT_OK_AND_ASSIGN(StoreStats stats, reader->Stats());
  ASSERT_OK_AND_ASSIGN(VerifyReport report, reader->Verify(nullptr));
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.chunks_checked, stats.chunk_count);
  EXPECT_EQ(report.files_checked, 2u);
  ASSERT_EQ(report.damaged.size(), 1u);
  EXPECT_EQ(report.damaged[0].chunk, victim);
  EXPECT_EQ(report.damaged[0].users, (std::vector<std::string>{"m@1:damaged.bin"}));
  EXPECT_FALSE(report.damaged[0].problem.empty());
}

}  // namespace
}  // namespace re2po
