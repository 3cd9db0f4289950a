// Corruption: bytes flipped inside stored chunk payloads are caught by every
// reader (mount: EIO and a log line naming the chunk; cat and export: exit
// 1, never wrong bytes; verify: exactly the damaged chunks and their users).
// A store directory that is truncated, missing files or from a newer schema
// is refused at open with a clear message, without a crash and without
// anything written.
#include "store/base/coding.h"
#include "store/base/digest.h"
#include "store/chunks/codec.h"
#include "store/db/db.h"
#include "store/db/keys.h"
#include "store/db/meta.h"
#include "tests/reliability/reliability_fixture.h"

namespace re2po::testing {
namespace {

constexpr size_t kMiB = size_t{1} << 20;
constexpr size_t kPage = 4096;

struct Damage {
  std::string chunk_hex;
  uint64_t start = 0, end = 0;  // the chunk's byte range in its file
  std::set<std::string> users;  // "model@version:path"
};

class ChunkCorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const stdfs::path m1 = store_.scratch() / "m1", m2 = store_.scratch() / "m2",
                      n1 = store_.scratch() / "n1";
    a_ = RandomBytes(Scaled(3 * kMiB), 50);
    good_ = RandomBytes(Scaled(3 * kMiB), 51);
    text_ = CompressibleBytes(Scaled(2 * kMiB), 52);
    solo_ = RandomBytes(Scaled(2 * kMiB), 53);
    WriteFileBytes(m1 / "a.bin", a_);
    WriteFileBytes(m1 / "good.bin", good_);
    WriteFileBytes(m1 / "text.txt", text_);
    WriteFileBytes(m2 / "a.bin", a_);
    WriteFileBytes(m2 / "solo.bin", solo_);
    WriteFileBytes(m2 / "text.txt", text_);
    WriteFileBytes(n1 / "x" / "a-again.bin", a_);
    store_.Import("m", 1, m1);
    store_.Import("m", 2, m2);
    store_.Import("n", 1, n1);
  }

  // Damages the chunk holding byte `offset` of `file` where it is stored
  // (found by its encoded value in the blob files) and says which it was.
  Damage DamageChunkAt(const std::vector<uint8_t>& file, uint64_t offset,
                       std::set<std::string> users) {
    auto recipe = store_.writer().FileRecipe(Sha256Of(std::span<const uint8_t>(file)));
    EXPECT_TRUE(recipe.ok()) << recipe.status().ToString();
    if (!recipe.ok()) return {};
    const size_t index = (*recipe)->ExtentAt(offset);
    Damage damage{(*recipe)->extents[index].chunk.Hex(), (*recipe)->StartOf(index),
                  (*recipe)->extents[index].end, std::move(users)};
    std::span<const uint8_t> raw(file.data() + damage.start, damage.end - damage.start);
    size_t payload_size = 0;
    const std::string value = EncodeChunkValue((*recipe)->extents[index].chunk, raw,
                                               DType::kUnknown, CodecOptions{}, payload_size);
    const std::string_view payload = std::string_view(value).substr(value.size() - payload_size);
    pending_.push_back({damage.chunk_hex, std::string(payload)});
    return damage;
  }

  // Flips bytes in the middle of every payload chosen above; false if one
  // was not found exactly once.
  bool ApplyDamage() {
    store_.CloseWriter();
    for (const auto& [hex, payload] : pending_) {
      auto found = FindInFiles(store_.dir() / "db", ".blob", payload);
      if (found.size() != 1) {
        ADD_FAILURE() << "chunk " << hex << " found " << found.size() << " times in the blobs";
        return false;
      }
      FlipBytesAt(found[0].file, found[0].offset + payload.size() / 2, 16);
      std::cout << "damaged chunk " << hex.substr(0, 12) << " at " << found[0].file.filename()
                << "+" << found[0].offset + payload.size() / 2 << "\n";
    }
    return true;
  }

  TestStore store_;
  std::vector<uint8_t> a_, good_, text_, solo_;
  std::vector<std::pair<std::string, std::string>> pending_;  // chunk hex, payload
};

// Reads `file` page by page: pages touching [bad_start, bad_end) must fail
// with EIO, every other page must read exactly.
struct PageTally {
  uint64_t eio = 0, correct = 0, wrong = 0, unexpected = 0;
};
PageTally ReadPages(const stdfs::path& file, const std::vector<uint8_t>& expected,
                    uint64_t bad_start, uint64_t bad_end) {
  PageTally tally;
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ADD_FAILURE() << "cannot open " << file << ": " << std::strerror(errno);
    return tally;
  }
  std::vector<uint8_t> page(kPage);
  for (uint64_t at = 0; at < expected.size(); at += kPage) {
    const size_t want = std::min<size_t>(kPage, expected.size() - at);
    const bool touches = at < bad_end && at + kPage > bad_start;
    const ssize_t n = PreadFully(fd, page.data(), want, static_cast<off_t>(at));
    if (n == -EIO && touches) {
      ++tally.eio;
    } else if (n >= 0 && std::memcmp(page.data(), expected.data() + at, size_t(n)) != 0) {
      ++tally.wrong;
    } else if (n == static_cast<ssize_t>(want) && !touches) {
      ++tally.correct;
    } else {
      ++tally.unexpected;
      ADD_FAILURE() << file << " page at " << at << (touches ? " (damaged)" : " (intact)")
                    << ": read returned " << n;
    }
  }
  ::close(fd);
  return tally;
}

TEST_F(ChunkCorruptionTest, DamagedChunksFailEveryReaderAndVerifyNamesThem) {
  REQUIRE_FUSE();
  std::vector<Damage> damages = {
      DamageChunkAt(a_, a_.size() / 3, {"m@1:a.bin", "m@2:a.bin", "n@1:x/a-again.bin"}),
      DamageChunkAt(solo_, solo_.size() / 2, {"m@2:solo.bin"}),
      DamageChunkAt(text_, text_.size() / 2, {"m@1:text.txt", "m@2:text.txt"}),  // zstd
  };
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(ApplyDamage());

  TestMount mount(store_.dir());
  START_MOUNT(mount);
  struct Read {
    std::string path;
    const std::vector<uint8_t>* bytes;
    const Damage* damage;  // null: an intact file
  };
  const std::vector<Read> reads = {
      {"m/1/a.bin", &a_, &damages[0]},         {"m/2/a.bin", &a_, &damages[0]},
      {"n/1/x/a-again.bin", &a_, &damages[0]}, {"m/2/solo.bin", &solo_, &damages[1]},
      {"m/1/text.txt", &text_, &damages[2]},   {"m/2/text.txt", &text_, &damages[2]},
      {"m/1/good.bin", &good_, nullptr},
  };
  PageTally total;
  for (const Read& read : reads) {
    SCOPED_TRACE(read.path);
    PageTally tally =
        ReadPages(mount.path(read.path), *read.bytes, read.damage ? read.damage->start : 0,
                  read.damage ? read.damage->end : 0);
    EXPECT_EQ(tally.wrong, 0u);
    if (read.damage) {
      EXPECT_GT(tally.eio, 0u);
    }
    total.eio += tally.eio;
    total.correct += tally.correct;
    total.wrong += tally.wrong;
  }
  EXPECT_EQ(Sha256Hex(mount.path("m/1/good.bin")), Sha256Hex(store_.scratch() / "m1" / "good.bin"));
  EXPECT_TRUE(IsServedMount(mount.mountpoint()));
  const std::string log = mount.Log();
  for (const Damage& damage : damages) {
    EXPECT_NE(log.find(damage.chunk_hex), std::string::npos)
        << "the mount log does not name chunk " << damage.chunk_hex << ":\n"
        << log.substr(0, 4000);
  }
  mount.Stop();

  // The CLI readers: exit 1, and what they wrote is never wrong.
  CliStore cli(store_.dir());
  CommandResult cat = cli.Run("cat m@1 a.bin");
  EXPECT_EQ(cat.exit_code, 1) << cat.err;
  EXPECT_TRUE(IsPrefixOf(cat.out, a_)) << "cat wrote wrong bytes";
  EXPECT_NE(cat.err.find(damages[0].chunk_hex.substr(0, 12)), std::string::npos) << cat.err;
  CommandResult good = cli.Run("cat m@1 good.bin");
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_TRUE(good.out.size() == good_.size() && IsPrefixOf(good.out, good_));
  const stdfs::path out = store_.scratch() / "export";
  CommandResult exported = cli.Run("export m@2 " + ShellQuote(out.string()));
  EXPECT_EQ(exported.exit_code, 1) << exported.err;
  EXPECT_NE(exported.err.find("nothing was written"), std::string::npos) << exported.err;
  // A failed export is staged beside its destination and removed: nothing
  // that could pass for a complete file is left behind.
  EXPECT_FALSE(stdfs::exists(out)) << "the failed export left " << out;
  for (const auto& entry : stdfs::directory_iterator(out.parent_path())) {
    EXPECT_EQ(entry.path().filename().string().find(".export.re2po-export-"), std::string::npos)
        << "the failed export left its staging directory " << entry.path();
  }

  // verify: exactly the damaged chunks, each with exactly its users.
  CommandResult verify = cli.Run("verify --json");
  EXPECT_EQ(verify.exit_code, 1);
  auto report = nlohmann::json::parse(verify.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << verify.out << verify.err;
  std::map<std::string, std::set<std::string>> listed, expected;
  for (const auto& chunk : report["damaged"]) {
    listed[chunk["chunk"].get<std::string>()] = chunk["used_by"].get<std::set<std::string>>();
  }
  for (const Damage& damage : damages) expected[damage.chunk_hex] = damage.users;
  EXPECT_EQ(listed, expected) << verify.out;
  std::cout << "[ figures  ] corrupted chunks: " << damages.size() << " damaged, " << listed.size()
            << " listed by verify; mount pages: " << total.eio << " EIO, " << total.correct
            << " correct, " << total.wrong << " wrong\n";
}

// --- Damaged store directories

enum class StoreDamage {
  kTruncatedSst,
  kTruncatedManifest,
  kMissingCurrent,
  kMissingSst,
  kNewerSchema
};

std::string Name(StoreDamage damage) {
  switch (damage) {
    case StoreDamage::kTruncatedSst:
      return "TruncatedSst";
    case StoreDamage::kTruncatedManifest:
      return "TruncatedManifest";
    case StoreDamage::kMissingCurrent:
      return "MissingCurrent";
    case StoreDamage::kMissingSst:
      return "MissingSst";
    case StoreDamage::kNewerSchema:
      return "NewerSchema";
  }
  return "?";
}

// The largest file of `dir` whose name matches.
stdfs::path Largest(const stdfs::path& dir, const std::string& prefix, const std::string& suffix) {
  stdfs::path best;
  uintmax_t best_size = 0;
  for (const auto& entry : stdfs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(prefix) || !name.ends_with(suffix)) continue;
    if (best.empty() || entry.file_size() > best_size) {
      best = entry.path();
      best_size = entry.file_size();
    }
  }
  return best;
}

Status WriteSchema(const stdfs::path& db_dir, uint32_t schema) {
  ASSIGN_OR_RETURN(auto db, Db::Open(db_dir, Db::Mode::kWriter));
  WriteBatch batch(*db);
  std::string value;
  PutFixed32(value, schema);
  batch.Put(Cf::kMeta, keys::kSchema, value);
  RETURN_IF_ERROR(db->Write(batch, /*durable=*/true));
  return db->FlushAll();
}

class DamagedStoreTest : public ::testing::TestWithParam<StoreDamage> {};

TEST_P(DamagedStoreTest, RefusedAtOpenWithAClearErrorAndNothingWritten) {
  TempDir temp;
  CliStore store(temp.path() / "store");
  const stdfs::path source = temp.path() / "source", db = store.dir() / "db";
  WriteFileBytes(source / "w.bin", RandomBytes(Scaled(2 * kMiB), 60));
  WriteFileBytes(source / "cfg.txt", CompressibleBytes(Scaled(kMiB), 61));
  ASSERT_EQ(store.Run("init").exit_code, 0);
  ASSERT_EQ(store.Run("import m@1 " + ShellQuote(source.string())).exit_code, 0);

  std::string expect_in_message;
  switch (GetParam()) {
    case StoreDamage::kTruncatedSst: {
      const stdfs::path sst = Largest(db, "", ".sst");
      ASSERT_FALSE(sst.empty());
      stdfs::resize_file(sst, stdfs::file_size(sst) / 2);
      expect_in_message = sst.filename().string();
      break;
    }
    case StoreDamage::kTruncatedManifest: {
      const std::vector<uint8_t> current_bytes = ReadFileBytes(db / "CURRENT");
      const std::string current(current_bytes.begin(), current_bytes.end());
      const stdfs::path manifest = db / current.substr(0, current.find('\n'));
      ASSERT_TRUE(stdfs::exists(manifest)) << manifest;
      stdfs::resize_file(manifest, stdfs::file_size(manifest) / 2);
      expect_in_message = "MANIFEST";
      break;
    }
    case StoreDamage::kMissingCurrent:
      ASSERT_TRUE(stdfs::remove(db / "CURRENT"));
      expect_in_message = "CURRENT";
      break;
    case StoreDamage::kMissingSst: {
      const stdfs::path sst = Largest(db, "", ".sst");
      ASSERT_TRUE(stdfs::remove(sst));
      expect_in_message = sst.stem().string();  // RocksDB names it by number
      while (expect_in_message.starts_with("0")) expect_in_message.erase(0, 1);
      break;
    }
    case StoreDamage::kNewerSchema:
      ASSERT_OK(WriteSchema(db, kSchemaVersion + 1));
      expect_in_message = "schema";
      break;
  }

  const stdfs::path mountpoint = temp.path() / "mnt";
  stdfs::create_directories(mountpoint);
  UnmountGuard guard(mountpoint);
  const std::vector<std::string> commands = {
      "ls",
      "ls m",
      "show m@1",
      "stats",
      "verify",
      "cat m@1 w.bin",
      "export m@1 " + ShellQuote((temp.path() / "out").string()),
      "import m@2 " + ShellQuote(source.string()),
      "rm m@1",
      "gc",
      "mount " + ShellQuote(mountpoint.string()),
  };
  for (const std::string& command : commands) {
    SCOPED_TRACE(command);
    // writer.lock is excluded: a writer records its pid there by design.
    auto before = SnapshotDir(store.dir());
    before.erase("writer.lock");
    CommandResult result = store.Run(command);
    EXPECT_EQ(result.exit_code, 1)
        << "stdout: " << result.out.substr(0, 500) << "\nstderr: " << result.err;
    EXPECT_TRUE(result.err.starts_with("re2po")) << result.err;
    EXPECT_NE(result.err.find(expect_in_message), std::string::npos)
        << "the error does not say what is wrong (" << expect_in_message << "): " << result.err;
    if (GetParam() == StoreDamage::kNewerSchema) {
      EXPECT_NE(result.err.find(std::to_string(kSchemaVersion + 1)), std::string::npos)
          << result.err;
    }
    EXPECT_FALSE(IsServedMount(mountpoint));
    auto after = SnapshotDir(store.dir());
    after.erase("writer.lock");
    EXPECT_EQ(SnapshotDiff(before, after), "") << "the store was written to";
  }
}

INSTANTIATE_TEST_SUITE_P(Damage, DamagedStoreTest,
                         ::testing::Values(StoreDamage::kTruncatedSst,
                                           StoreDamage::kTruncatedManifest,
                                           StoreDamage::kMissingCurrent, StoreDamage::kMissingSst,
                                           StoreDamage::kNewerSchema),
                         [](const auto& param_info) { return Name(param_info.param); });

}  // namespace
}  // namespace re2po::testing
