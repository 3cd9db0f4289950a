// Creating and opening stores against a real RocksDB: init and open errors,
// schemas, the last-commit guard, the writer lock, files left by many imports.
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
    WriteBatch batch(*db);
    batch.Put(Cf::kMeta, keys::kSchema, value);
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
    WriteBatch batch(*db);
    batch.Delete(Cf::kMeta, keys::kSchema);
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
  for (size_t family = 0; family < static_cast<size_t>(Cf::kCount); ++family) {
    const uint64_t files = db->TableFiles(static_cast<Cf>(family));
    EXPECT_LE(files, 40u) << Db::FamilyName(static_cast<Cf>(family)) << " is fragmented into "
                          << files << " files";
  }
  ASSERT_OK_AND_ASSIGN(auto reader, Open(/*writer=*/false));
  EXPECT_EQ(reader->Catalog()->FindModel("m")->versions.size(), static_cast<size_t>(kImports));
}

}  // namespace
}  // namespace re2po
