#include "store/formats/isolated_parse.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "store/base/coding.h"

namespace re2po {
namespace {

constexpr unsigned kChildSeconds = 30;
constexpr uint64_t kChildExtraMemory = uint64_t{1} << 30;

void PutSegments(std::string& out, const std::vector<Segment>& segments) {
  PutVarint(out, segments.size());
  for (const Segment& s : segments) {
    PutVarint(out, s.offset);
    PutVarint(out, s.length);
    out.push_back(static_cast<char>(s.kind));
    PutLengthPrefixed(out, s.name);
    out.push_back(static_cast<char>(s.dtype));
    PutLengthPrefixed(out, s.native_dtype);
    PutVarint(out, s.shape.size());
    for (int64_t dim : s.shape) PutVarint(out, static_cast<uint64_t>(dim));
  }
}

Status GetSegments(Decoder& in, std::vector<Segment>& segments) {
  uint64_t count = 0;
  RETURN_IF_ERROR(in.GetVarint(count));
  if (count > in.remaining()) return Status::Corruption("isolated parser: bad reply");
  segments.resize(count);
  for (Segment& s : segments) {
    uint8_t kind = 0, dtype = 0;
    uint64_t rank = 0;
    RETURN_IF_ERROR(in.GetVarint(s.offset));
    RETURN_IF_ERROR(in.GetVarint(s.length));
    RETURN_IF_ERROR(in.GetByte(kind));
    RETURN_IF_ERROR(in.GetString(s.name));
    RETURN_IF_ERROR(in.GetByte(dtype));
    RETURN_IF_ERROR(in.GetString(s.native_dtype));
    RETURN_IF_ERROR(in.GetVarint(rank));
    if (rank > in.remaining()) return Status::Corruption("isolated parser: bad reply");
    s.kind = static_cast<SegmentKind>(kind);
    s.dtype = static_cast<DType>(dtype);
    for (uint64_t d = 0; d < rank; ++d) {
      uint64_t dim = 0;
      RETURN_IF_ERROR(in.GetVarint(dim));
      s.shape.push_back(static_cast<int64_t>(dim));
    }
  }
  return Status::Ok();
}

std::string EncodeReply(const Result<ParsedFile>& parsed) {
  std::string out;
  out.push_back(parsed.ok() ? 1 : 0);
  if (!parsed.ok()) {
    PutLengthPrefixed(out, parsed.status().message());
    return out;
  }
  PutLengthPrefixed(out, parsed->format);
  PutSegments(out, parsed->segments);
  PutVarint(out, parsed->companions.size());
  for (const CompanionSegments& companion : parsed->companions) {
    PutLengthPrefixed(out, companion.relative_path);
    PutSegments(out, companion.segments);
  }
  return out;
}

Result<ParsedFile> DecodeReply(std::string_view what, std::string_view reply) {
  Decoder in(reply, "isolated parser reply");
  uint8_t ok = 0;
  RETURN_IF_ERROR(in.GetByte(ok));
  if (ok == 0) {
    std::string message;
    RETURN_IF_ERROR(in.GetString(message));
    return Status::Corruption(message);
  }
  ParsedFile parsed;
  uint64_t companions = 0;
  RETURN_IF_ERROR(in.GetString(parsed.format));
  RETURN_IF_ERROR(GetSegments(in, parsed.segments));
  RETURN_IF_ERROR(in.GetVarint(companions));
  if (companions > in.remaining()) return Status::Corruption(std::string(what) + ": bad reply");
  parsed.companions.resize(companions);
  for (CompanionSegments& companion : parsed.companions) {
    RETURN_IF_ERROR(in.GetString(companion.relative_path));
    RETURN_IF_ERROR(GetSegments(in, companion.segments));
  }
  return parsed;
}

[[maybe_unused]] uint64_t CurrentAddressSpace() {
  unsigned long long pages = 0;
  if (std::FILE* statm = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(statm, "%llu", &pages) != 1) pages = 0;
    std::fclose(statm);
  }
  return pages * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

[[noreturn]] void RunChild(int fd, ParseFn parse, ByteSpan bytes) {
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  // Sanitizers reserve terabytes of shadow memory; under them the child
  // relies on the sanitizer's own allocation limit instead.
  struct rlimit limit {};
  limit.rlim_cur = limit.rlim_max = CurrentAddressSpace() + kChildExtraMemory;
  setrlimit(RLIMIT_AS, &limit);
#endif
  alarm(kChildSeconds);
  std::string reply = EncodeReply(parse(bytes));
  for (size_t done = 0; done < reply.size();) {
    ssize_t n = write(fd, reply.data() + done, reply.size() - done);
    if (n <= 0 && errno != EINTR) _exit(3);
    if (n > 0) done += static_cast<size_t>(n);
  }
  _exit(0);
}

// A crash at the memory limit is usually libhdf5 using a failed allocation,
// so the reason names both the signal and the limits.
std::string DescribeChildEnd(int status) {
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
    return "no answer within " + std::to_string(kChildSeconds) + " s";
  }
  if (WIFSIGNALED(status)) {
    const char* name = sigdescr_np(WTERMSIG(status));
    return "signal " + std::to_string(WTERMSIG(status)) + ", " + (name ? name : "unknown") +
           "; a crash, or out of memory at the " + std::to_string(kChildExtraMemory >> 30) +
           " GiB limit";
  }
  return "exit " + std::to_string(WEXITSTATUS(status));
}

std::string ReadAll(int fd) {
  std::string data;
  char buffer[65536];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buffer, static_cast<size_t>(n));
  }
  return data;
}

// One parse in a forked child; `timed_out` says the alarm ended it.
Result<ParsedFile> ParseInChild(std::string_view what, ParseFn parse, ByteSpan bytes,
                                bool& timed_out) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe for the parser");
  pid_t child = fork();
  if (child < 0) {
    int err = errno;
    close(fds[0]);
    close(fds[1]);
    return Status::FromErrno(err, "fork for the parser");
  }
  if (child == 0) {
    close(fds[0]);
    RunChild(fds[1], parse, bytes);
  }
  close(fds[1]);
  std::string reply = ReadAll(fds[0]);
  close(fds[0]);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  timed_out = WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::Corruption(std::string(what) + ": the parser gave up on this file (" +
                              DescribeChildEnd(status) + ")");
  }
  return DecodeReply(what, reply);
}

}  // namespace

Result<ParsedFile> ParseIsolated(std::string_view what, ParseFn parse, ByteSpan bytes) {
  bool timed_out = false;
  Result<ParsedFile> parsed = ParseInChild(what, parse, bytes, timed_out);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // A child forked while another thread holds a lock of the sanitizer's
  // allocator waits on a lock nobody will release: in an ASan test run a
  // child hung for 30 s on a small Keras file that parses in milliseconds.
  // A second fork finds the lock free; a file that really hangs the parser
  // costs twice the time. Release builds use glibc's malloc, which takes
  // its locks across fork().
  if (timed_out) parsed = ParseInChild(what, parse, bytes, timed_out);
#endif
  return parsed;
}

}  // namespace re2po
