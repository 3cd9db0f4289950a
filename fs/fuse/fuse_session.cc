#include "fs/fuse/fuse_session.h"

#include <cerrno>
#include <cstring>

#include "fs/fuse/fuse_ops.h"
#include "store/base/log.h"

namespace re2po::fs {
namespace {

std::string EscapeOptionValue(const std::string& value) {
  std::string escaped;
  for (char c : value) {
    if (c == ',' || c == '\\') escaped += '\\';
    escaped += c;
  }
  return escaped;
}

std::vector<std::string> MountArguments(const SessionOptions& options) {
  // "ro": the kernel refuses every write with EROFS before it reaches us.
  // default_permissions: the kernel checks the mode bits we report.
  std::vector<std::string> list = {"ro", "default_permissions", "subtype=re2po",
                                   "fsname=" + EscapeOptionValue(options.fsname),
                                   "max_read=" + std::to_string(kMaxRead)};
  if (options.allow_other) list.push_back("allow_other");
  for (const std::string& option : options.fuse_options) list.push_back(option);
  std::vector<std::string> args = {"re2po", "-o", JoinFuseOptions(list)};
  if (options.debug) args.push_back("-d");
  return args;
}

}  // namespace

std::string JoinFuseOptions(const std::vector<std::string>& options) {
  std::string joined;
  for (const std::string& option : options) {
    if (!joined.empty()) joined += ',';
    joined += option;
  }
  return joined;
}

Result<std::unique_ptr<FuseSession>> FuseSession::Mount(MountedRepository& repo,
                                                        const SessionOptions& options) {
  std::vector<std::string> strings = MountArguments(options);
  std::vector<char*> argv;
  for (std::string& arg : strings) argv.push_back(arg.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  fuse_session* session =
      fuse_session_new(&args, &FuseOperations(), sizeof(fuse_lowlevel_ops), &repo);
  fuse_opt_free_args(&args);
  if (session == nullptr) {
    return Status::InvalidArgument("libfuse refused the mount options " + strings[2] +
                                   " (see the message above)");
  }
  if (fuse_set_signal_handlers(session) != 0) {
    fuse_session_destroy(session);
    return Status::IOError("cannot install signal handlers");
  }
  if (fuse_session_mount(session, options.mountpoint.c_str()) != 0) {
    fuse_remove_signal_handlers(session);
    fuse_session_destroy(session);
    return Status::IOError("cannot mount on " + options.mountpoint.string() +
                           " (is /dev/fuse usable? see the message above)");
  }
  return std::unique_ptr<FuseSession>(new FuseSession(session, options));
}

FuseSession::~FuseSession() {
  fuse_session_unmount(session_);
  fuse_remove_signal_handlers(session_);
  fuse_session_destroy(session_);
}

Status FuseSession::Loop() {
  fuse_loop_config* config = fuse_loop_cfg_create();
  if (config == nullptr) return Status::IOError("out of memory creating the FUSE loop");
  fuse_loop_cfg_set_clone_fd(config, 1);
  fuse_loop_cfg_set_max_threads(config, options_.max_threads);
  const int rc = fuse_session_loop_mt(session_, config);
  fuse_loop_cfg_destroy(config);
  // A signal ends the loop with the signal number; that is a clean exit.
  if (rc < 0) return Status::IOError(std::string("FUSE loop failed: ") + std::strerror(-rc));
  return Status::Ok();
}

void FuseSession::Invalidate(const Invalidation& invalidation) {
  int rc;
  if (invalidation.name.empty()) {
    rc = fuse_lowlevel_notify_inval_inode(session_, invalidation.ino, 0, 0);
  } else {
    rc = fuse_lowlevel_notify_inval_entry(session_, invalidation.parent, invalidation.name.c_str(),
                                          invalidation.name.size());
  }
  // ENOENT: the kernel had nothing cached; that is the common case.
  if (rc != 0 && rc != -ENOENT) {
    Logger("fs")->debug("invalidating {}/{}: {}", invalidation.parent + invalidation.ino,
                        invalidation.name, std::strerror(-rc));
  }
}

}  // namespace re2po::fs
