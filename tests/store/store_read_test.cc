// Reading files through the Store: every chunk boundary, and damaged
// chunks that are an error, never wrong bytes.
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
