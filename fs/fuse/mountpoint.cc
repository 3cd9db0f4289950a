#include "fs/fuse/mountpoint.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "store/base/log.h"

namespace re2po::fs {
namespace {

Status LazyUnmount(const std::filesystem::path& mountpoint) {
  if (::umount2(mountpoint.c_str(), MNT_DETACH) == 0) return Status::Ok();
  const int err = errno;
  if (err != EPERM) return Status::FromErrno(err, "unmounting " + mountpoint.string());
  // Not root: the setuid helper may unmount a mount of ours.
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execlp("fusermount3", "fusermount3", "-u", "-z", "--", mountpoint.c_str(), nullptr);
    ::_exit(127);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::PermissionDenied("cannot unmount the stale mount at " + mountpoint.string() +
                                    " (fusermount3 -u -z failed)");
  }
  return Status::Ok();
}

}  // namespace

Status PrepareMountpoint(const std::filesystem::path& mountpoint) {
  // statfs, not stat: the kernel may answer a stat of a dead mount from its
  // attribute cache, but it always asks the daemon for statfs.
  struct statfs fs_info {};
  if (::statfs(mountpoint.c_str(), &fs_info) != 0) {
    const int err = errno;
    if (err != ENOTCONN && err != ECONNABORTED) {
      return Status::FromErrno(err, "mountpoint " + mountpoint.string());
    }
    Logger("fs")->warn("{} is a stale mount (its daemon is gone): unmounting it (lazily)",
                       mountpoint.string());
    RETURN_IF_ERROR(LazyUnmount(mountpoint));
    if (::statfs(mountpoint.c_str(), &fs_info) != 0) {
      return Status::FromErrno(errno, "mountpoint " + mountpoint.string() + " after unmounting");
    }
  }
  struct stat st {};
  if (::stat(mountpoint.c_str(), &st) != 0) {
    return Status::FromErrno(errno, "mountpoint " + mountpoint.string());
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument("mountpoint " + mountpoint.string() + " is not a directory");
  }
  struct stat parent {};
  if (fs_info.f_type == kFuseSuperMagic && ::stat(mountpoint.parent_path().c_str(), &parent) == 0 &&
      parent.st_dev != st.st_dev) {
    return Status::AlreadyExists(mountpoint.string() +
                                 " is already a FUSE mount; unmount it first");
  }
  return Status::Ok();
}

namespace {

// What the checking child found, as its exit code: 0, an errno (all below
// 255), or kNotOurs.
constexpr int kServing = 0;
constexpr int kNotOurs = 255;

// Runs in the forked child: system calls only, no allocation, no logging.
// It first closes every inherited descriptor: a copy of the FUSE device kept
// open here would keep the connection alive after the daemon dies, and this
// child's own request would then wait for ever.
[[noreturn]] void CheckServingAndExit(const char* mountpoint) {
  ::close_range(0, ~0U, 0);
  struct stat st {};
  if (::stat(mountpoint, &st) != 0) ::_exit(errno);
  struct statfs fs_info {};
  if (::statfs(mountpoint, &fs_info) != 0) ::_exit(errno);
  ::_exit(fs_info.f_type == kFuseSuperMagic && st.st_ino == 1 ? kServing : kNotOurs);
}

}  // namespace

Status CheckServing(const std::filesystem::path& mountpoint) {
  // Never from the daemon itself: a thread of ours waiting on our own mount
  // cannot be killed once its request has been read (the kernel waits for
  // the answer uninterruptibly), so a SIGKILL in that window would leave a
  // daemon that never exits and a mount that never goes stale. A child
  // asking instead gets ENOTCONN when we die.
  const std::string path = mountpoint.string();
  const pid_t pid = ::fork();
  if (pid < 0) return Status::FromErrno(errno, "checking the new mount at " + path);
  if (pid == 0) CheckServingAndExit(path.c_str());
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Status::FromErrno(errno, "checking the new mount at " + path);
  }
  if (!WIFEXITED(status)) {
    return Status::IOError("the check of the new mount at " + path + " died of signal " +
                           std::to_string(WTERMSIG(status)));
  }
  const int code = WEXITSTATUS(status);
  if (code == kServing) return Status::Ok();
  if (code == kNotOurs) return Status::IOError("the mount at " + path + " is not answering");
  return Status::FromErrno(code, "checking the new mount at " + path);
}

}  // namespace re2po::fs
