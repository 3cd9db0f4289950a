#include "tests/testutil/testutil.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

namespace re2po::testing {
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "re2po-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

std::vector<uint8_t> ReadFileBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteFileBytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

void WriteFileText(const fs::path& path, const std::string& text) {
  WriteFileBytes(path, std::vector<uint8_t>(text.begin(), text.end()));
}

Digest FilledDigest(uint8_t byte) {
  Digest digest;
  digest.bytes.fill(byte);
  return digest;
}

std::vector<uint8_t> RandomBytes(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> bytes(size);
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t word = rng();
    std::memcpy(bytes.data() + i, &word, 8);
  }
  for (; i < size; ++i) bytes[i] = static_cast<uint8_t>(rng());
  return bytes;
}

std::string Sha256Hex(const fs::path& path) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::ifstream in(path, std::ios::binary);
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    EVP_DigestUpdate(ctx, buffer.data(), static_cast<size_t>(in.gcount()));
  }
  std::array<unsigned char, 32> digest{};
  EVP_DigestFinal_ex(ctx, digest.data(), nullptr);
  EVP_MD_CTX_free(ctx);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char byte : digest) {
    hex += kHex[byte >> 4];
    hex += kHex[byte & 15];
  }
  return hex;
}

std::optional<fs::path> Fixture(const std::string& relative) {
  fs::path path = fs::path(RE2PO_FIXTURES_DIR) / relative;
  if (!fs::exists(path)) return std::nullopt;
  return path;
}

namespace {
std::string Slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}
}  // namespace

CommandResult RunCommand(const std::string& command_line) {
  TempDir scratch;
  fs::path out = scratch.path() / "out";
  fs::path err = scratch.path() / "err";
  std::string full = "(" + command_line + ") </dev/null >" + ShellQuote(out.string()) + " 2>" +
                     ShellQuote(err.string());
  int raw = std::system(full.c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  result.out = Slurp(out);
  result.err = Slurp(err);
  return result;
}

std::string ShellQuote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

std::string BuiltTool(const std::string& name) {
  return (fs::path(RE2PO_BINARY_DIR) / "tools" / name).string();
}

std::map<std::string, std::string> DescribeTree(const fs::path& root) {
  std::map<std::string, std::string> tree;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::end(it); ++it) {
    struct stat st {};
    lstat(it->path().c_str(), &st);
    std::string relative = fs::relative(it->path(), root).string();
    std::string mode = std::to_string(st.st_mode & 07777);
    if (S_ISLNK(st.st_mode)) {
      tree[relative] = "link " + fs::read_symlink(it->path()).string();
    } else if (S_ISDIR(st.st_mode)) {
      tree[relative] = "dir " + mode;
    } else {
      tree[relative] =
          "file " + mode + " " + std::to_string(st.st_size) + " " + Sha256Hex(it->path());
    }
  }
  return tree;
}

bool PythonHasModules(const std::vector<std::string>& modules) {
  std::string imports;
  for (const auto& module : modules) imports += "import " + module + ";";
  return RunCommand("/usr/bin/python3 -c " + ShellQuote(imports)).exit_code == 0;
}

FileLock::FileLock(const fs::path& path)
    : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
  if (fd_ >= 0) ::flock(fd_, LOCK_EX);
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

GeneratedModels GenerateModelsOnce(const std::string& script,
                                   const std::vector<std::string>& modules) {
  const fs::path source = fs::path(RE2PO_SOURCE_DIR) / "tests" / "python" / script;
  const fs::path cache = fs::path(RE2PO_BINARY_DIR) / "test-models";
  fs::create_directories(cache);
  const std::string stem = source.stem().string();
  const fs::path done = cache / (stem + "-" + Sha256Hex(source).substr(0, 16));
  FileLock lock(cache / (stem + ".lock"));
  GeneratedModels models;
  if (fs::is_directory(done)) {
    models.dir = done;
    return models;
  }
  if (!PythonHasModules(modules)) {
    models.skip = true;
    models.why_not = "/usr/bin/python3 lacks one of the modules " + script + " needs";
    return models;
  }
  // Sets an earlier script wrote are stale: they go.
  for (const auto& entry : fs::directory_iterator(cache)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.starts_with(stem + "-")) fs::remove_all(entry.path());
  }
  // Written beside and renamed, so a killed writer never leaves a half set.
  const fs::path partial = done.string() + ".partial";
  const CommandResult made = RunCommand("/usr/bin/python3 " + ShellQuote(source.string()) + " " +
                                        ShellQuote(partial.string()));
  if (made.exit_code != 0) {
    models.why_not = script + " failed: " + made.out + made.err;
    return models;
  }
  fs::rename(partial, done);
  models.dir = done;
  return models;
}

pid_t SpawnWithLog(std::vector<std::string> args, const std::filesystem::path& log) {
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(log_fd, STDERR_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  return pid;
}

}  // namespace re2po::testing
