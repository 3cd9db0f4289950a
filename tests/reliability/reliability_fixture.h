// Helpers for the reliability tests (docs/reliability.md): a store driven
// through the built `re2po` binary, snapshots of a store directory to prove
// that nothing was written, model sources with shared and distinct content,
// and byte flipping inside stored chunk payloads. Header-only: the test
// folder builds only *_test.cc files.
#pragma once

#include <sys/stat.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/fs/mount_fixture.h"
#include "tests/testutil/testutil.h"

namespace re2po::testing {

// 1 in normal runs, 0.1 under the sanitizers (RE2PO_TEST_SCALE=small).
inline double TestScale() {
  const char* scale = std::getenv("RE2PO_TEST_SCALE");
  return scale && std::string(scale) == "small" ? 0.1 : 1.0;
}
inline size_t Scaled(size_t bytes) {
  return std::max<size_t>(size_t{64} << 10, static_cast<size_t>(double(bytes) * TestScale()));
}

// A store directory driven through the built re2po binary.
class CliStore {
 public:
  explicit CliStore(stdfs::path dir) : dir_(std::move(dir)) {}
  const stdfs::path& dir() const { return dir_; }

  // `env` is prepended to the command line, e.g. "RE2PO_CRASH_POINT=after-commit".
  // Runs the hooked build of re2po, which obeys the crash points.
  CommandResult Run(const std::string& args, const std::string& env = "") const {
    // "; exit $?" keeps the subshell waiting, so a shell's "Killed" notice
    // lands in the captured stderr rather than in the test output.
    return RunCommand((env.empty() ? "" : env + " ") + ShellQuote(BuiltTool("re2po-hooked")) +
                      " --store " + ShellQuote(dir_.string()) + " " + args + "; exit $?");
  }
  nlohmann::json Json(const std::string& args) const {
    CommandResult result = Run(args + " --json");
    EXPECT_EQ(result.exit_code, 0) << args << ": " << result.err;
    return nlohmann::json::parse(result.out, nullptr, false);
  }
  // Exports `ref` into a fresh directory under `scratch` and describes it.
  std::map<std::string, std::string> ExportDescribed(const std::string& ref,
                                                     const stdfs::path& scratch) const {
    const stdfs::path out = scratch / ("export-" + std::to_string(++exports_));
    CommandResult result = Run("export " + ref + " " + ShellQuote(out.string()));
    EXPECT_EQ(result.exit_code, 0) << "export " << ref << ": " << result.err;
    auto described =
        result.exit_code == 0 ? DescribeTree(out) : std::map<std::string, std::string>{};
    std::error_code ignored;
    stdfs::remove_all(out, ignored);
    return described;
  }
  // The versions of `model` that `re2po ls MODEL --json` shows.
  std::set<uint64_t> Versions(const std::string& model) const {
    std::set<uint64_t> versions;
    CommandResult result = Run("ls " + model + " --json");
    if (result.exit_code != 0) return versions;  // no such model
    for (const auto& v : nlohmann::json::parse(result.out, nullptr, false)) {
      if (v.contains("version")) versions.insert(v["version"].get<uint64_t>());
    }
    return versions;
  }

 private:
  stdfs::path dir_;
  mutable int exports_ = 0;
};

// Every file under `dir` with its size and mtime: equal snapshots mean
// nothing was created, removed, resized or modified.
inline std::map<std::string, std::string> SnapshotDir(const stdfs::path& dir) {
  std::map<std::string, std::string> files;
  std::error_code error;
  for (auto it = stdfs::recursive_directory_iterator(dir, error); !error && it != stdfs::end(it);
       it.increment(error)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    files[stdfs::relative(it->path(), dir).string()] =
        std::to_string(st.st_size) + " bytes, mtime " + std::to_string(st.st_mtim.tv_sec) + "." +
        std::to_string(st.st_mtim.tv_nsec);
  }
  return files;
}

// What differs between two snapshots, one line per file.
inline std::string SnapshotDiff(const std::map<std::string, std::string>& before,
                                const std::map<std::string, std::string>& after) {
  std::string diff;
  for (const auto& [name, what] : before) {
    auto it = after.find(name);
    if (it == after.end()) {
      diff += "removed " + name + "\n";
    } else if (it->second != what) {
      diff += "changed " + name + ": " + what + " -> " + it->second + "\n";
    }
  }
  for (const auto& [name, what] : after) {
    if (!before.contains(name)) diff += "created " + name + " (" + what + ")\n";
  }
  return diff;
}

// Text-like bytes that zstd compresses well (so chunks take the zstd codec).
inline std::vector<uint8_t> CompressibleBytes(size_t size, uint64_t seed) {
  static constexpr std::string_view kWords[] = {"tensor ", "weight ",  "layer.", "bias ",
                                                "0.125 ",  "-3.5e-2 ", "attn\n", "mlp "};
  std::vector<uint8_t> random = RandomBytes(size / 4 + 16, seed);
  std::vector<uint8_t> out;
  out.reserve(size + 16);
  for (size_t i = 0; out.size() < size; ++i) {
    std::string_view word = kWords[random[i % random.size()] % std::size(kWords)];
    out.insert(out.end(), word.begin(), word.end());
  }
  out.resize(size);
  return out;
}

// A minimal safetensors file: an 8-byte header length, the JSON header, then
// the tensors (F32, one dimension) back to back.
inline std::vector<uint8_t> Safetensors(
    const std::vector<std::pair<std::string, std::vector<uint8_t>>>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  uint64_t offset = 0;
  for (const auto& [name, data] : tensors) {
    header[name] = {{"dtype", "F32"},
                    {"shape", {data.size() / 4}},
                    {"data_offsets", {offset, offset + data.size()}}};
    offset += data.size();
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text += ' ';
  std::vector<uint8_t> out(8 + text.size() + offset);
  for (size_t i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(uint64_t(text.size()) >> (8 * i));
  std::memcpy(out.data() + 8, text.data(), text.size());
  uint8_t* next = out.data() + 8 + text.size();
  for (const auto& [name, data] : tensors) {
    std::memcpy(next, data.data(), data.size());
    next += data.size();
  }
  return out;
}

// Overwrites `count` bytes at `at` in `path` with their complement.
inline void FlipBytesAt(const stdfs::path& path, uint64_t at, size_t count) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  std::vector<char> bytes(count);
  file.seekg(static_cast<std::streamoff>(at));
  file.read(bytes.data(), static_cast<std::streamsize>(count));
  for (char& b : bytes) b = static_cast<char>(~static_cast<unsigned char>(b));
  file.seekp(static_cast<std::streamoff>(at));
  file.write(bytes.data(), static_cast<std::streamsize>(count));
}

// Where `needle` occurs in the files of `dir` whose names end with `suffix`.
struct Occurrence {
  stdfs::path file;
  uint64_t offset = 0;
};
inline std::vector<Occurrence> FindInFiles(const stdfs::path& dir, const std::string& suffix,
                                           std::string_view needle) {
  std::vector<Occurrence> found;
  for (const auto& entry : stdfs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || !name.ends_with(suffix)) continue;
    std::vector<uint8_t> bytes = ReadFileBytes(entry.path());
    std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    for (size_t at = text.find(needle); at != std::string_view::npos;
         at = text.find(needle, at + 1)) {
      found.push_back({entry.path(), at});
    }
  }
  return found;
}

// True when `bytes` is a prefix of `whole` (an interrupted read or export
// may stop early; it must never differ).
inline bool IsPrefixOf(const std::string& bytes, const std::vector<uint8_t>& whole) {
  return bytes.size() <= whole.size() && std::memcmp(bytes.data(), whole.data(), bytes.size()) == 0;
}

// A child process this test started, killed (by pid) if still running.
class Child {
 public:
  explicit Child(std::vector<std::string> args, const stdfs::path& log)
      : pid_(SpawnWithLog(std::move(args), log)) {}
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      Wait();
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  pid_t pid() const { return pid_; }
  // The wait status, once the child has exited.
  int Wait() {
    int status = 0;
    if (pid_ > 0) ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
};

// Unmounts `mountpoint` when it goes out of scope (a test's failure included).

}  // namespace re2po::testing
