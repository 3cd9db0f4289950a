// Helpers shared by the test folders: temporary directories that clean up,
// file writing, hashing, fixture lookup and running the built tools.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/base/digest.h"
#include "store/base/status.h"

namespace re2po::testing {

// Prints the Status text when it fails.
#define ASSERT_OK(expr)                                \
  do {                                                 \
    const ::re2po::Status re2po_s_ = (expr);           \
    ASSERT_TRUE(re2po_s_.ok()) << re2po_s_.ToString(); \
  } while (0)
#define EXPECT_OK(expr)                                \
  do {                                                 \
    const ::re2po::Status re2po_s_ = (expr);           \
    EXPECT_TRUE(re2po_s_.ok()) << re2po_s_.ToString(); \
  } while (0)

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::vector<uint8_t> ReadFileBytes(const std::filesystem::path& path);
void WriteFileBytes(const std::filesystem::path& path, const std::vector<uint8_t>& bytes);
void WriteFileText(const std::filesystem::path& path, const std::string& text);
std::vector<uint8_t> RandomBytes(size_t size, uint64_t seed);
// A digest whose 32 bytes are all `byte`: a name for a chunk in a test.
Digest FilledDigest(uint8_t byte);
std::string Sha256Hex(const std::filesystem::path& path);

// ../shared/fixtures/<relative>, or nullopt (the caller GTEST_SKIPs with a reason).
std::optional<std::filesystem::path> Fixture(const std::string& relative);
#define REQUIRE_FIXTURE(var, relative)                                         \
  auto var##_opt = ::re2po::testing::Fixture(relative);                        \
  if (!var##_opt)                                                              \
    GTEST_SKIP() << "fixture " << (relative)                                   \
                 << " absent: ../shared/fixtures is not beside this checkout"; \
  const std::filesystem::path var = *var##_opt

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// Runs a shell command line, capturing stdout and stderr.
CommandResult RunCommand(const std::string& command_line);

// Starts `args` (args[0] an absolute path) with stdout and stderr appended to
// `log`; returns its pid, or -1 if fork failed. The caller waits for it.
pid_t SpawnWithLog(std::vector<std::string> args, const std::filesystem::path& log);
std::string ShellQuote(const std::string& text);
// Path of a built tool, e.g. BuiltTool("re2po").
std::string BuiltTool(const std::string& name);
// Every path under `root` with its type, mode, size, content hash or link
// target: two trees are equal when their descriptions are.
std::map<std::string, std::string> DescribeTree(const std::filesystem::path& root);

// /usr/bin/python3 with the given module importable, else nullopt.
bool PythonHasModules(const std::vector<std::string>& modules);

// flock(2) on a file, released when destroyed: serialises the tests of
// several processes (ctest -j) around one shared resource.
class FileLock {
 public:
  explicit FileLock(const std::filesystem::path& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

// Models written once by tests/python/<script> DIR (/usr/bin/python3) into a
// directory of the build tree that every test process shares read-only.
// The script's hash names the directory, so an edited script writes anew; a
// lock file serialises the first writers. `dir` is empty when the models
// could not be made, and `why_not` says why (`skip`: python lacks `modules`).
struct GeneratedModels {
  std::filesystem::path dir;
  std::string why_not;
  bool skip = false;
};
GeneratedModels GenerateModelsOnce(const std::string& script,
                                   const std::vector<std::string>& modules);

}  // namespace re2po::testing
