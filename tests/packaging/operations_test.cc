// What docs/operations.md tells admins, run against the built CLI: the CI
// contract (exit codes, --json, waiting for the writer lock), a backup copy
// taken under the writer lock, and that every message in its error table is
// one the sources really print. The same for docs/remote.md's message table
// and its fstab line.
#include <regex>

#include <nlohmann/json.hpp>

#include "tests/packaging/packaging_fixture.h"

namespace re2po::testing {
namespace {

class OperationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stdfs::create_directories(source_);
    weights_ = RandomBytes(1024 * 1024 + 5, 3);
    WriteFileBytes(source_ / "weights.bin", weights_);
  }
  CommandResult Re2po(const std::string& args, const stdfs::path& store) const {
    return RunCommand(ShellQuote(BuiltTool("re2po")) + " --store " + ShellQuote(store.string()) +
                      " " + args);
  }
  CommandResult Re2po(const std::string& args) const { return Re2po(args, store_); }
  void InitAndImport() {
    ASSERT_EQ(Re2po("init").exit_code, 0);
    CommandResult imported = Re2po("import demo " + ShellQuote(source_.string()));
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
  }

  TempDir scratch_;
  stdfs::path store_ = scratch_.path() / "store";
  stdfs::path source_ = scratch_.path() / "source";
  std::vector<uint8_t> weights_;
};

TEST_F(OperationsTest, ExitCodesAreZeroOneTwo) {
  EXPECT_EQ(Re2po("ls").exit_code, 1);  // no store yet
  EXPECT_NE(Re2po("ls").err.find("re2po: error: no store at"), std::string::npos);
  EXPECT_EQ(Re2po("import").exit_code, 2);  // missing arguments
  EXPECT_EQ(Re2po("frobnicate").exit_code, 2);
  EXPECT_EQ(Re2po("init").exit_code, 0);
  EXPECT_EQ(Re2po("ls").exit_code, 0);
}

TEST_F(OperationsTest, CiImportPrintsTheDocumentedJson) {
  ASSERT_EQ(Re2po("init").exit_code, 0);
  CommandResult imported =
      Re2po("import demo@7 " + ShellQuote(source_.string()) + " --label commit=abc --json");
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  const nlohmann::json summary = nlohmann::json::parse(imported.out);
  for (const char* key :
       {"model", "version", "digest", "files", "logical_bytes", "new_bytes", "new_raw_bytes",
        "chunks", "new_chunks", "dedup_ratio", "seconds", "formats", "file_details", "warnings"}) {
    EXPECT_TRUE(summary.contains(key)) << key;
  }
  EXPECT_EQ(summary["version"], 7);
  // A retried job with the same number is refused, and nothing changes.
  CommandResult again = Re2po("import demo@7 " + ShellQuote(source_.string()));
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already exists; versions are immutable"), std::string::npos)
      << again.err;
}

TEST_F(OperationsTest, ImportWaitsForTheWriterLockThenGivesUp) {
  ASSERT_EQ(Re2po("init").exit_code, 0);
  {
    FileLock held(store_ / "writer.lock");  // what `flock writer.lock cp -a ...` does
    CommandResult blocked = Re2po("--lock-timeout 1 import demo " + ShellQuote(source_.string()));
    EXPECT_EQ(blocked.exit_code, 1);
    EXPECT_NE(blocked.err.find("waiting for another writer of this store"), std::string::npos)
        << blocked.err;
    EXPECT_NE(blocked.err.find("locked by another writer"), std::string::npos) << blocked.err;
    EXPECT_EQ(Re2po("ls").exit_code, 0) << "readers never wait";
  }
  EXPECT_EQ(Re2po("import demo " + ShellQuote(source_.string())).exit_code, 0);
}

TEST_F(OperationsTest, CopyUnderTheWriterLockIsAWorkingStore) {
  InitAndImport();
  const stdfs::path backup = scratch_.path() / "backup";
  CommandResult copied =
      RunCommand("flock " + ShellQuote((store_ / "writer.lock").string()) + " cp -a " +
                 ShellQuote(store_.string()) + " " + ShellQuote(backup.string()));
  ASSERT_EQ(copied.exit_code, 0) << copied.err;
  CommandResult verified = Re2po("verify", backup);
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  CommandResult cat = Re2po("cat demo@1 weights.bin", backup);
  ASSERT_EQ(cat.exit_code, 0) << cat.err;
  EXPECT_TRUE(cat.out == std::string(weights_.begin(), weights_.end()));
  // The restored copy takes new versions.
  EXPECT_EQ(Re2po("import demo " + ShellQuote(source_.string()), backup).exit_code, 0);
}

TEST_F(OperationsTest, ExportThenImportRestoresAVersion) {
  InitAndImport();
  const stdfs::path exported = scratch_.path() / "exported";
  ASSERT_EQ(Re2po("export demo@1 " + ShellQuote(exported.string())).exit_code, 0);
  const stdfs::path other = scratch_.path() / "other";
  ASSERT_EQ(Re2po("init", other).exit_code, 0);
  ASSERT_EQ(Re2po("import demo@1 " + ShellQuote(exported.string()), other).exit_code, 0);
  const auto digest = [&](const stdfs::path& store) {
    return nlohmann::json::parse(Re2po("show demo@1 --json", store).out)["digest"];
  };
  EXPECT_EQ(digest(store_), digest(other));
}

// The text of every .cc and .h file of store/, fs/ and tools/.
std::string ProgramSources() {
  std::string sources;
  for (const char* dir : {"store", "fs", "tools"}) {
    for (const auto& entry : stdfs::recursive_directory_iterator(SourcePath(dir))) {
      const std::string ext = entry.path().extension().string();
      if (ext == ".cc" || ext == ".h") sources += ReadText(entry.path());
    }
  }
  return sources;
}

// Checks that every `message` in the first column of the table rows after
// `heading` in `doc` appears in the sources; returns the number of rows.
size_t ExpectTableMessagesArePrinted(const std::string& doc_path, const std::string& heading) {
  static const std::string sources = ProgramSources();
  const std::string doc = ReadText(SourcePath(doc_path));
  const size_t table = doc.find(heading);
  EXPECT_NE(table, std::string::npos) << heading << " in " << doc_path;
  if (table == std::string::npos) return 0;
  static const std::regex kRow(R"(^\| `([^`]+)` \|)");
  size_t rows = 0;
  for (const std::string& line : Lines(doc.substr(table))) {
    std::smatch match;
    if (!std::regex_search(line, match, kRow)) continue;
    ++rows;
    EXPECT_NE(sources.find(match[1].str()), std::string::npos)
        << doc_path << ": '" << match[1] << "' is printed nowhere in store/, fs/ or tools/";
  }
  return rows;
}

// Every `message` in the first column of the error table appears in a
// source file of store/, fs/ or tools/: the table names real messages.
TEST_F(OperationsTest, ErrorTableNamesMessagesTheSourcesPrint) {
  EXPECT_GE(ExpectTableMessagesArePrinted("docs/operations.md", "## Error messages"), 60u);
}

// The same for what docs/remote.md says nodes log and fleet commands print.
TEST_F(OperationsTest, RemoteMessageTableNamesMessagesTheSourcesPrint) {
  EXPECT_GE(ExpectTableMessagesArePrinted("docs/remote.md", "## Messages"), 12u);
}

// The fleet commands' errors an admin meets first are in the error table.
TEST_F(OperationsTest, ErrorTableCoversTheFleetCommands) {
  const std::string doc = ReadText(SourcePath("docs/operations.md"));
  const std::string table = doc.substr(doc.find("## Error messages"));
  for (const char* message :
       {"no remote named '", "is not a remote this re2po knows", "is not http(s)://host",
        "AWS_PROFILE names profile '", "without the other half of the pair", "timed out after",
        "gave up", "is on the remote with other bytes", "pushing an unsigned catalog",
        "is not an ed25519", "bad timeout '", "a mount's daemon uses", "no node cache at"}) {
    EXPECT_NE(table.find("| `" + std::string(message)), std::string::npos) << message;
  }
  EXPECT_NE(doc.find("docs/remote.md"), std::string::npos);
  EXPECT_TRUE(stdfs::exists(SourcePath("docs/remote.md")));
}

// docs/remote.md's fstab line: a URL as the source, and options the helper
// accepts for a remote (-f: mount(8)'s "fake", nothing is mounted).
TEST_F(OperationsTest, DocumentedRemoteFstabLineHasAcceptedOptions) {
  const std::vector<std::string> fields = RemoteFstabFields("docs/remote.md");
  ASSERT_EQ(fields.size(), 6u) << "no fstab line with an s3:// source in docs/remote.md";
  EXPECT_EQ(fields[2], "fuse.re2po");
  for (const char* option : {"_netdev", "trust=", "cache_dir=", "cache_size_max=", "timeout="}) {
    EXPECT_NE(fields[3].find(option), std::string::npos) << option;
  }
  if (!stdfs::exists(BuiltTool("mount.re2po"))) GTEST_SKIP() << "mount.re2po is not built";
  CommandResult checked =
      RunCommand(ShellQuote(BuiltTool("mount.re2po")) + " " + ShellQuote(fields[0]) +
                 " /nonexistent/mnt -f -o " + ShellQuote(fields[3]));
  EXPECT_EQ(checked.exit_code, 0) << checked.err;
}

TEST_F(OperationsTest, DocumentedFstabLineHasAcceptedOptions) {
  const std::string doc = ReadText(SourcePath("docs/operations.md"));
  const std::string line =
      "/var/lib/re2po/store /models fuse.re2po ro,allow_other,cache_size=1G,_netdev 0 0";
  ASSERT_NE(doc.find(line), std::string::npos);
  if (!stdfs::exists(BuiltTool("mount.re2po"))) GTEST_SKIP() << "mount.re2po is not built";
  CommandResult checked =
      RunCommand(ShellQuote(BuiltTool("mount.re2po")) + " /var/lib/re2po/store /models -f -o " +
                 "ro,allow_other,cache_size=1G,_netdev");
  EXPECT_EQ(checked.exit_code, 0) << checked.err;
}

}  // namespace
}  // namespace re2po::testing
