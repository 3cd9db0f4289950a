#include "store/base/status.h"

#include <cerrno>
#include <cstring>

namespace re2po {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kNotFound:
      return "not found";
    case StatusCode::kAlreadyExists:
      return "already exists";
    case StatusCode::kInvalidArgument:
      return "invalid argument";
    case StatusCode::kCorruption:
      return "corruption";
    case StatusCode::kIOError:
      return "I/O error";
    case StatusCode::kNoSpace:
      return "no space left on device";
    case StatusCode::kBusy:
      return "busy";
    case StatusCode::kUnsupported:
      return "unsupported";
    case StatusCode::kPermissionDenied:
      return "permission denied";
  }
  return "unknown";
}

Status Status::FromErrno(int err, std::string_view context) {
  std::string msg = std::string(context) + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
      return NotFound(std::move(msg));
    case EEXIST:
      return AlreadyExists(std::move(msg));
    case ENOSPC:
    case EDQUOT:
      return NoSpace(std::move(msg));
    case EACCES:
    case EPERM:
      return PermissionDenied(std::move(msg));
    case EINVAL:
      return InvalidArgument(std::move(msg));
    default:
      return IOError(std::move(msg));
  }
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  return Status(code_, std::string(context) + ": " + message_);
}

}  // namespace re2po
