// Hostile names: control characters in paths, over-long model names, NUL,
// '/', '.', '..' and over-long components, and symlinks that leave the tree
// are refused at import with a message naming them; a mounted version never
// exposes a path outside itself (every entry's realpath stays inside).
#include <climits>
#include <cstdlib>

#include "store/base/names.h"
#include "store/import/source_tree.h"
#include "tests/reliability/reliability_fixture.h"

namespace re2po::testing {
namespace {

class HostileNamesTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(store_.Run("init").exit_code, 0); }

  // A fresh source directory holding one ordinary file.
  stdfs::path NewSource() {
    const stdfs::path dir = temp_.path() / ("src" + std::to_string(++sources_));
    WriteFileText(dir / "good.bin", "fine\n");
    return dir;
  }
  // Imports `source` as m@1 expecting a refusal that mentions `why`; nothing
  // may be committed.
  void ExpectRefused(const stdfs::path& source, const std::string& why) {
    CommandResult result = store_.Run("import m@1 " + ShellQuote(source.string()));
    EXPECT_EQ(result.exit_code, 1) << result.out;
    EXPECT_NE(result.err.find(why), std::string::npos) << result.err;
    EXPECT_EQ(store_.Versions("m"), std::set<uint64_t>{});
    auto scanned = ScanSource(source);
    EXPECT_EQ(scanned.status().code(), StatusCode::kInvalidArgument) << scanned.status().ToString();
  }

  TempDir temp_;
  CliStore store_{temp_.path() / "store"};
  int sources_ = 0;
};

TEST_F(HostileNamesTest, ControlCharactersInPathsAreRefusedAtImport) {
  const std::vector<std::pair<std::string, std::string>> names = {
      {"new\nline.bin", "\\x0a"}, {"tab\tname", "\\x09"}, {"esc\x1b[31mred", "\\x1b"},
      {"bell\x07", "\\x07"},      {"del\x7f", "\\x7f"},   {"cr\rname", "\\x0d"}};
  for (const auto& [name, shown] : names) {
    SCOPED_TRACE(shown);
    const stdfs::path source = NewSource();
    WriteFileText(source / "sub" / name, "x");
    ExpectRefused(source, "refused name");
    CommandResult result = store_.Run("import m@1 " + ShellQuote(source.string()));
    EXPECT_NE(result.err.find(shown), std::string::npos) << "not shown escaped: " << result.err;
    EXPECT_EQ(result.err.find(name), std::string::npos) << "the raw name reached the terminal";
  }
  // A directory with a control character is refused the same way.
  const stdfs::path source = NewSource();
  WriteFileText(source / "dir\x01" / "file", "x");
  ExpectRefused(source, "control character");
}

TEST_F(HostileNamesTest, ModelNamesAreCheckedBeforeAnythingIsWritten) {
  const stdfs::path source = NewSource();
  for (const std::string& name :
       {std::string(129, 'a'), std::string(4096, 'b'), std::string("../up"), std::string("a/b"),
        std::string(".hidden"), std::string("tab\tname")}) {
    SCOPED_TRACE(name.substr(0, 20));
    const auto before = SnapshotDir(store_.dir() / "db");
    CommandResult result = store_.Run("import " + ShellQuote(name) + " " + ShellQuote(source));
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find("invalid model name"), std::string::npos) << result.err;
    EXPECT_EQ(SnapshotDiff(before, SnapshotDir(store_.dir() / "db")), "");
  }
  CommandResult longest = store_.Run("import " + std::string(128, 'a') + " " + ShellQuote(source));
  EXPECT_EQ(longest.exit_code, 0) << longest.err;
  CommandResult too_long = store_.Run("import " + std::string(129, 'a') + " " + ShellQuote(source));
  EXPECT_NE(too_long.err.find("too long"), std::string::npos) << too_long.err;
}

TEST(HostileComponentTest, StoreApiRefusesNulSlashDotsAndOverlongComponents) {
  const std::vector<std::string> refused = {
      std::string("a\0b", 3), "a/b", "/", "..", ".", "", std::string(256, 'x'),
      std::string("\0", 1)};
  for (const std::string& component : refused) {
    const Status status = ValidatePathComponent(component);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument)
        << "accepted a component of " << component.size() << " bytes";
    EXPECT_EQ(status.message().find('\0'), std::string::npos) << "raw NUL in the message";
  }
  for (const std::string& component : {std::string(255, 'x'), std::string("caf\xc3\xa9"),
                                       std::string("..."), std::string(".hidden")}) {
    EXPECT_OK(ValidatePathComponent(component));
  }
  // The longest name a Linux filesystem can hold goes through the scanner.
  TempDir temp;
  WriteFileText(temp.path() / std::string(255, 'n'), "x");
  auto scanned = ScanSource(temp.path());
  ASSERT_TRUE(scanned.ok()) << scanned.status().ToString();
  EXPECT_EQ(scanned->files.size(), 1u);
}

TEST_F(HostileNamesTest, SymlinksThatLeaveTheTreeAreRefused) {
  const std::vector<std::pair<std::string, std::string>> links = {{"up", "../outside"},
                                                                  {"abs", "/etc/passwd"},
                                                                  {"sub/deep", "../../outside"},
                                                                  {"sub/x/y", "../../../z"},
                                                                  {"dots", "sub/../../etc"},
                                                                  {"slashes", ".//..//..//etc"},
                                                                  {"root", "/"},
                                                                  {"sub/self-up", "./../.."}};
  for (const auto& [link, target] : links) {
    SCOPED_TRACE(link + " -> " + target);
    const stdfs::path source = NewSource();
    stdfs::create_directories((source / link).parent_path());
    stdfs::create_symlink(target, source / link);
    ExpectRefused(source, "refused symlink");
  }
}

// Every entry under `version` (not following links while walking) must
// resolve, with the kernel following every symlink, to a path inside it.
std::vector<std::string> EntriesResolvingOutside(const stdfs::path& version) {
  std::vector<std::string> outside;
  char canonical_root[PATH_MAX];
  if (::realpath(version.c_str(), canonical_root) == nullptr) return {"cannot resolve root"};
  const std::string root = canonical_root;
  for (const auto& entry : stdfs::recursive_directory_iterator(version)) {
    char resolved[PATH_MAX];
    if (::realpath(entry.path().c_str(), resolved) == nullptr) continue;  // dangling: nowhere
    const std::string path = resolved;
    if (path != root && !path.starts_with(root + "/")) {
      outside.push_back(entry.path().lexically_relative(version).string() + " -> " + path);
    }
  }
  return outside;
}

TEST_F(HostileNamesTest, MountedTreeStaysInsideItsVersion) {
  REQUIRE_FUSE();
  const stdfs::path source = NewSource();
  WriteFileText(source / "a" / "b" / "w.bin", "weights");
  stdfs::create_symlink("a/b/w.bin", source / "direct");
  stdfs::create_symlink("../good.bin", source / "a" / "up-one");
  stdfs::create_symlink("b", source / "a" / "dirlink");
  stdfs::create_symlink("a/dirlink/w.bin", source / "through-dirlink");
  stdfs::create_symlink("direct", source / "chain");
  stdfs::create_symlink("missing", source / "dangling");
  stdfs::create_symlink(".", source / "self");
  CommandResult result = store_.Run("import m@1 " + ShellQuote(source.string()));
  ASSERT_EQ(result.exit_code, 0) << result.err;

  TestMount mount(store_.dir());
  START_MOUNT(mount);
  EXPECT_EQ(CompareTrees(source, mount.path("m/1")), "");
  EXPECT_EQ(EntriesResolvingOutside(mount.path("m/1")), std::vector<std::string>{});
  EXPECT_EQ(ReadFileBytes(mount.path("m/1/through-dirlink")).size(), 7u);
}

// A symlink may name another symlink of the tree as a directory: "up" below
// points to the version root, so "up/../../.." leaves it by three levels,
// although a lexical reading of "a/b/up/../../.." stays inside.
TEST_F(HostileNamesTest, SymlinkThroughAnUpwardSymlinkCannotEscape) {
  REQUIRE_FUSE();
  const stdfs::path source = NewSource();
  stdfs::create_directories(source / "a" / "b");
  stdfs::create_symlink("../..", source / "a" / "b" / "up");
  stdfs::create_symlink("up/../../..", source / "a" / "b" / "escape");
  CommandResult result = store_.Run("import m@1 " + ShellQuote(source.string()));
  if (result.exit_code != 0) {
    EXPECT_NE(result.err.find("refused symlink"), std::string::npos) << result.err;
    return;  // refused at import: nothing to serve
  }
  std::cout << "the import accepted a/b/escape -> up/../../..; checking the mount\n";
  TestMount mount(store_.dir());
  START_MOUNT(mount);
  EXPECT_EQ(EntriesResolvingOutside(mount.path("m/1")), std::vector<std::string>{})
      << "a mounted version exposes paths outside itself";
}

}  // namespace
}  // namespace re2po::testing
