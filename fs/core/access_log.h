// The mount's access log: one JSON line per open of a model file (who, from
// which container, which file, served from where), so operators can tell
// which function loaded which model when (docs/operations.md, "Access log").
//
// FUSE threads only push a record into a bounded lock-free queue; a
// background thread writes the queue out every 50 ms, in one write() per
// batch, to <store>/access/access.jsonl, rotated by size (access.jsonl.1 is
// the newest rotated file). When the queue is full the record is dropped and
// counted, and the count is written as a record of its own once the writer
// catches up: a FUSE thread never waits for the disk.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fs/core/bounded_queue.h"
#include "fs/core/mount_options.h"
#include "store/base/status.h"

namespace re2po::fs {

struct AccessRecord {
  int64_t time_ns = 0;
  std::string model;
  uint64_t version = 0;
  std::string path;  // inside the version
  uint32_t uid = 0;
  pid_t pid = 0;            // the process (thread group) that opened
  std::string command;      // its /proc/<pid>/comm
  std::string cgroup;       // its container identity (CgroupOf)
  std::string served_from;  // "cache", "local", "remote", or "refused"
  std::string refused;      // why it was refused ("no key NAME"); else empty
  std::string mount;        // the mount's id (<hostname>-<pid>)
};

// One line, without the newline. Invalid UTF-8 in names becomes U+FFFD.
std::string AccessRecordJson(const AccessRecord& record);
// The line written when records were dropped: {"time":..., "lost": N}.
std::string LostRecordJson(int64_t time_ns, uint64_t lost);
// "2025-11-21T22:00:00.123Z" (UTC, milliseconds).
std::string Rfc3339Millis(int64_t time_ns);

// Who a FUSE request came from. `tid` is what the kernel hands FUSE (the
// calling thread); pid is its process.
struct ProcessIdentity {
  pid_t pid = 0;
  std::string command;
  std::string cgroup;
};
// Reads /proc/<tid>/status, /proc/<pid>/comm and /proc/<pid>/cgroup: three
// small reads, none of which waits on the caller (which is blocked in our
// open). What cannot be read stays empty (the process may be gone).
ProcessIdentity IdentifyProcess(pid_t tid);
// The container identity in a /proc/<pid>/cgroup text: the cgroup v2 path
// ("0::/kubepods/..."), or when that is only "/" (a hybrid host), the v1
// paths other than "/" joined by ','; "/" when the process is in no group.
std::string CgroupOf(std::string_view proc_cgroup);

struct AccessLogOptions {
  std::filesystem::path path;  // the current file; rotated ones are PATH.1 (newest) ... PATH.N
  uint64_t rotate_bytes = uint64_t{16} << 20;
  int keep_rotated = 4;
  size_t queue_records = 4096;
  std::chrono::milliseconds drain_every{50};
  bool background = true;  // false: no writer thread; DrainOnce() writes (tests)
};

class AccessLog {
 public:
  // Creates the directory and opens (appends to) the file.
  static Result<std::unique_ptr<AccessLog>> Open(AccessLogOptions options);
  ~AccessLog();  // writes what is queued, then stops
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Never blocks. False when the queue is full: the record is counted lost.
  bool Submit(AccessRecord record);
  // Writes what is queued, and a lost-record line if records were dropped
  // since the last one. One caller at a time (the writer thread, or a test).
  Status DrainOnce();

  uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  uint64_t lost() const { return lost_.load(std::memory_order_relaxed); }
  const std::filesystem::path& path() const { return options_.path; }

 private:
  AccessLog(AccessLogOptions options, int dir_fd, int fd);
  void Run();
  Status Write(std::string_view lines);
  Status ReopenIfRotatedElsewhere();
  Status Rotate();
  Status Reopen();

  const AccessLogOptions options_;
  int dir_fd_;  // flock()ed while rotating: mounts sharing a store rotate once
  int fd_;
  BoundedQueue<AccessRecord> queue_;
  std::atomic<uint64_t> submitted_{0};
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> lost_{0};
  std::atomic<uint64_t> drained_{0};  // taken from the queue: producers see how full it is
  std::mutex drain_mutex_;            // the consumer side only
  uint64_t lost_reported_ = 0;        // lost records already written as a count
  bool warned_ = false;
  std::mutex wake_mutex_;  // the writer thread's sleep; producers never take it
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread writer_;
};

// The mount's access log as its options say (-o access_log=PATH|off, else
// <store>/access/access.jsonl); null when off, or, after a warning, when it
// cannot be opened (a read-only store directory): the mount goes on without.
std::unique_ptr<AccessLog> OpenMountAccessLog(const MountOptions& options);

// The files of a log, oldest first: PATH.N ... PATH.1, PATH (those that exist).
std::vector<std::filesystem::path> AccessLogFiles(const std::filesystem::path& path);

}  // namespace re2po::fs
