#include "fs/fuse/errno_map.h"

#include <cerrno>

#include "store/base/log.h"

namespace re2po::fs {

int ErrnoOf(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kNotFound:
      return ENOENT;
    case StatusCode::kAlreadyExists:
      return EEXIST;
    case StatusCode::kInvalidArgument:
      return EINVAL;
    case StatusCode::kNoSpace:
      return ENOSPC;
    case StatusCode::kBusy:
      return EAGAIN;
    case StatusCode::kUnsupported:
      return ENOTSUP;
    case StatusCode::kPermissionDenied:
      return EACCES;
    case StatusCode::kCorruption:  // bad data must read as EIO, never as bytes
    case StatusCode::kIOError:
      return EIO;
  }
  return EIO;
}

int ToErrno(const Status& status, std::string_view operation, uint64_t ino) {
  const int err = ErrnoOf(status.code());
  if (err == ENOENT) {
    Logger("fs")->trace("{} inode {}: {}", operation, ino, status.ToString());
  } else if (err == EIO) {
    Logger("fs")->error("{} inode {} -> EIO: {}", operation, ino, status.ToString());
  } else {
    Logger("fs")->warn("{} inode {} -> {}: {}", operation, ino, err, status.ToString());
  }
  return err;
}

}  // namespace re2po::fs
