// ScanSource on real temporary trees: what is kept, what is skipped with a
// warning, and what is refused with a message naming the path.
#include "store/import/source_tree.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <thread>

#include "tests/testutil/status_testutil.h"

namespace re2po {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::WriteFileText;

// Drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the calling thread's
// effective set (capabilities are per thread on Linux). False if it failed.
bool DropDacOverrideInThisThread() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  data[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
  return syscall(SYS_capset, &header, data) == 0;
}

class SourceTreeTest : public ::testing::Test {
 protected:
  fs::path root() const { return dir_.path() / "src"; }

  void SetUp() override { fs::create_directories(root()); }

  static std::map<std::string, const TreeEntry*> ByPath(const SourceTree& tree) {
    std::map<std::string, const TreeEntry*> paths;
    std::vector<std::string> names(tree.entries.size());
    for (size_t i = 1; i < tree.entries.size(); ++i) {
      const TreeEntry& entry = tree.entries[i];
      names[i] = entry.parent == 0 ? entry.name : names[entry.parent] + "/" + entry.name;
      paths[names[i]] = &entry;
    }
    return paths;
  }

  TempDir dir_;
};

TEST_F(SourceTreeTest, NestedDirectoriesInPreOrderWithModes) {
  WriteFileText(root() / "top.txt", "top");
  WriteFileText(root() / "a" / "b" / "deep.bin", "deep!");
  WriteFileText(root() / "a" / "empty", "");
  fs::create_directories(root() / "a" / "emptydir");
  ASSERT_EQ(chmod((root() / "top.txt").c_str(), 0640), 0);
  ASSERT_EQ(chmod((root() / "a" / "b" / "deep.bin").c_str(), 0755), 0);
  ASSERT_EQ(chmod((root() / "a" / "b").c_str(), 0700), 0);
  ASSERT_EQ(chmod(root().c_str(), 0751), 0);

  ASSERT_OK_AND_ASSIGN(SourceTree tree, ScanSource(root()));
  ASSERT_FALSE(tree.entries.empty());
  EXPECT_EQ(tree.entries[0].type, EntryType::kDirectory);
  EXPECT_EQ(tree.entries[0].mode, 0751u);
  for (size_t i = 1; i < tree.entries.size(); ++i) {
    EXPECT_LT(tree.entries[i].parent, i) << "not pre-order at " << i;
    EXPECT_EQ(tree.entries[tree.entries[i].parent].type, EntryType::kDirectory);
  }
  auto paths = ByPath(tree);
  ASSERT_EQ(paths.size(), 6u);
  EXPECT_EQ(paths.at("a")->type, EntryType::kDirectory);
  EXPECT_EQ(paths.at("a/b")->mode, 0700u);
  EXPECT_EQ(paths.at("a/b/deep.bin")->type, EntryType::kFile);
  EXPECT_EQ(paths.at("a/b/deep.bin")->size, 5u);
  EXPECT_EQ(paths.at("a/b/deep.bin")->mode, 0755u);
  EXPECT_EQ(paths.at("a/empty")->size, 0u);
  EXPECT_EQ(paths.at("a/emptydir")->type, EntryType::kDirectory);
  EXPECT_EQ(paths.at("top.txt")->mode, 0640u);
  EXPECT_EQ(tree.total_bytes, 8u);
  EXPECT_TRUE(tree.warnings.empty());

  ASSERT_EQ(tree.files.size(), 3u);
  for (const SourceFile& file : tree.files) {
    EXPECT_EQ(file.absolute, root() / file.relative);
    EXPECT_EQ(tree.entries[file.entry].type, EntryType::kFile);
    EXPECT_EQ(paths.at(file.relative), &tree.entries[file.entry]);
  }
}

TEST_F(SourceTreeTest, KeepsMtimes) {
  WriteFileText(root() / "f", "x");
  struct timespec times[2] = {{1000, 5}, {1234567890, 123456789}};
  ASSERT_EQ(utimensat(AT_FDCWD, (root() / "f").c_str(), times, 0), 0);
  ASSERT_OK_AND_ASSIGN(SourceTree tree, ScanSource(root()));
  EXPECT_EQ(ByPath(tree).at("f")->mtime_ns, 1234567890123456789);
}

TEST_F(SourceTreeTest, RelativeSymlinksInsideTheTreeAreKept) {
  WriteFileText(root() / "weights.bin", "w");
  WriteFileText(root() / "sub" / "x", "x");
  fs::create_symlink("weights.bin", root() / "alias");
  fs::create_symlink("../weights.bin", root() / "sub" / "up");
  fs::create_symlink("./x", root() / "sub" / "dot");
  fs::create_symlink("missing-target", root() / "dangling");  // inside, though absent
  ASSERT_OK_AND_ASSIGN(SourceTree tree, ScanSource(root()));
  auto paths = ByPath(tree);
  EXPECT_EQ(paths.at("alias")->type, EntryType::kSymlink);
  EXPECT_EQ(paths.at("alias")->target, "weights.bin");
  EXPECT_EQ(paths.at("alias")->size, 11u);
  EXPECT_EQ(paths.at("sub/up")->target, "../weights.bin");
  EXPECT_EQ(paths.at("sub/dot")->target, "./x");
  EXPECT_EQ(paths.at("dangling")->type, EntryType::kSymlink);
  EXPECT_EQ(tree.files.size(), 2u);  // symlinks are not read as files
}

TEST_F(SourceTreeTest, AbsoluteSymlinkIsRefusedNamingTheLink) {
  WriteFileText(root() / "sub" / "ok", "x");
  fs::create_symlink("/etc/passwd", root() / "sub" / "abs-link");
  auto result = ScanSource(root());
  EXPECT_STATUS_CODE(StatusCode::kInvalidArgument, result);
  if (!result.ok()) {
    EXPECT_NE(result.status().message().find("sub/abs-link"), std::string::npos)
        << result.status().message();
  }
}

TEST_F(SourceTreeTest, EscapingSymlinkIsRefused) {
  fs::create_directories(root() / "a");
  fs::create_symlink("../../outside", root() / "a" / "escape");
  auto result = ScanSource(root());
  EXPECT_STATUS_CODE(StatusCode::kInvalidArgument, result);
  if (!result.ok()) {
    EXPECT_NE(result.status().message().find("a/escape"), std::string::npos)
        << result.status().message();
  }
}

TEST_F(SourceTreeTest, SymlinkStaysInsideResolvesLexically) {
  EXPECT_TRUE(SymlinkStaysInside("", "x"));
  EXPECT_TRUE(SymlinkStaysInside("a/b", "../../x"));
  EXPECT_TRUE(SymlinkStaysInside("a", "b/../../c"));
  EXPECT_TRUE(SymlinkStaysInside("a", "./././x"));
  EXPECT_FALSE(SymlinkStaysInside("", ".."));
  EXPECT_FALSE(SymlinkStaysInside("a/b", "../../../x"));
  EXPECT_FALSE(SymlinkStaysInside("a", "../../a/x"));  // leaves, even if it comes back
  EXPECT_FALSE(SymlinkStaysInside("", "x/../../y"));
}

TEST_F(SourceTreeTest, FifoIsSkippedWithAWarning) {
  WriteFileText(root() / "real", "r");
  ASSERT_EQ(mkfifo((root() / "pipe").c_str(), 0644), 0);
  ASSERT_OK_AND_ASSIGN(SourceTree tree, ScanSource(root()));
  auto paths = ByPath(tree);
  EXPECT_FALSE(paths.contains("pipe"));
  EXPECT_TRUE(paths.contains("real"));
  ASSERT_EQ(tree.warnings.size(), 1u);
  EXPECT_NE(tree.warnings[0].find("pipe"), std::string::npos) << tree.warnings[0];
}

TEST_F(SourceTreeTest, HardLinksAreReadAsRegularFiles) {
  WriteFileText(root() / "one", "shared bytes");
  fs::create_hard_link(root() / "one", root() / "two");
  ASSERT_OK_AND_ASSIGN(SourceTree tree, ScanSource(root()));
  auto paths = ByPath(tree);
  ASSERT_TRUE(paths.contains("one") && paths.contains("two"));
  EXPECT_EQ(paths.at("one")->type, EntryType::kFile);
  EXPECT_EQ(paths.at("two")->type, EntryType::kFile);
  EXPECT_EQ(paths.at("two")->size, 12u);
  EXPECT_EQ(tree.files.size(), 2u);
  EXPECT_EQ(tree.total_bytes, 24u);
}

TEST_F(SourceTreeTest, UnreadableFileIsRefused) {
  WriteFileText(root() / "secret.bin", "s");
  ASSERT_EQ(chmod((root() / "secret.bin").c_str(), 0), 0);
  Status status;
  bool dropped = true;
  bool readable_anyway = false;
  // Root reads everything: drop the DAC override in a helper thread only.
  std::thread scanner([&] {
    if (geteuid() == 0) dropped = DropDacOverrideInThisThread();
    // Not access(): for a real uid of 0 it checks with the full permitted set.
    int fd = open((root() / "secret.bin").c_str(), O_RDONLY | O_CLOEXEC);
    readable_anyway = fd >= 0;
    if (fd >= 0) close(fd);
    status = testing::StatusOf(ScanSource(root()));
  });
  scanner.join();
  if (!dropped || readable_anyway) {
    GTEST_SKIP() << "cannot make an unreadable file here (root without a droppable "
                    "CAP_DAC_OVERRIDE)";
  }
  EXPECT_EQ(status.code(), StatusCode::kPermissionDenied) << status.ToString();
  EXPECT_NE(status.message().find("secret.bin"), std::string::npos) << status.message();
}

TEST_F(SourceTreeTest, ControlCharacterInANameIsRefusedNamingThePath) {
  WriteFileText(root() / "sub" / "bad\x01name", "x");
  auto result = ScanSource(root());
  EXPECT_STATUS_CODE(StatusCode::kInvalidArgument, result);
  if (!result.ok()) {
    EXPECT_NE(result.status().message().find("sub"), std::string::npos)
        << result.status().message();
  }
}

TEST_F(SourceTreeTest, NonAsciiNamesAreAccepted) {
  WriteFileText(root() / "mod\xc3\xa8le" / "\xe6\xa8\xa1\xe5\x9e\x8b.bin", "x");
  ASSERT_OK_AND_ASSIGN(SourceTree tree, ScanSource(root()));
  EXPECT_TRUE(ByPath(tree).contains("mod\xc3\xa8le/\xe6\xa8\xa1\xe5\x9e\x8b.bin"));
}

TEST_F(SourceTreeTest, SingleFileSource) {
  WriteFileText(root() / "model.onnx", "12345");
  ASSERT_EQ(chmod((root() / "model.onnx").c_str(), 0600), 0);
  ASSERT_OK_AND_ASSIGN(SourceTree tree, ScanSource(root() / "model.onnx"));
  ASSERT_EQ(tree.entries.size(), 2u);
  EXPECT_EQ(tree.entries[0].type, EntryType::kDirectory);
  EXPECT_EQ(tree.entries[1].name, "model.onnx");
  EXPECT_EQ(tree.entries[1].type, EntryType::kFile);
  EXPECT_EQ(tree.entries[1].size, 5u);
  EXPECT_EQ(tree.entries[1].mode, 0600u);
  ASSERT_EQ(tree.files.size(), 1u);
  EXPECT_EQ(tree.files[0].relative, "model.onnx");
  EXPECT_EQ(tree.total_bytes, 5u);
}

TEST_F(SourceTreeTest, EmptyDirectoryIsJustTheRoot) {
  ASSERT_OK_AND_ASSIGN(SourceTree tree, ScanSource(root()));
  EXPECT_EQ(tree.entries.size(), 1u);
  EXPECT_TRUE(tree.files.empty());
  EXPECT_EQ(tree.total_bytes, 0u);
}

TEST_F(SourceTreeTest, MissingSourceIsNotFound) {
  auto result = ScanSource(root() / "nope");
  EXPECT_STATUS_CODE(StatusCode::kNotFound, result);
  if (!result.ok()) {
    EXPECT_NE(result.status().message().find("nope"), std::string::npos);
  }
}

TEST_F(SourceTreeTest, SpecialFileAsSourceIsInvalid) {
  ASSERT_EQ(mkfifo((root() / "pipe").c_str(), 0644), 0);
  EXPECT_STATUS_CODE(StatusCode::kInvalidArgument, ScanSource(root() / "pipe"));
}

}  // namespace
}  // namespace re2po
