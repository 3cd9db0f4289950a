// One mounted FUSE session: creates it read-only, runs the multithreaded
// loop, delivers invalidations, and unmounts when destroyed. The only place,
// with fuse_ops.cc, that talks to libfuse.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "fs/core/mounted_repo.h"
#include "fs/core/refresher.h"
#include "fs/fuse/fuse_version.h"

namespace re2po::fs {

struct SessionOptions {
  std::filesystem::path mountpoint;
  std::string fsname;  // shown by mount(8) and df
  bool allow_other = false;
  std::vector<std::string> fuse_options;  // further -o options for libfuse
  bool debug = false;                     // libfuse's request trace on stderr
  unsigned max_threads = 16;
};

class FuseSession : public KernelNotifier {
 public:
  // Mounts; SIGTERM, SIGINT and SIGHUP then end Loop().
  static Result<std::unique_ptr<FuseSession>> Mount(MountedRepository& repo,
                                                    const SessionOptions& options);
  ~FuseSession() override;  // unmounts
  FuseSession(const FuseSession&) = delete;
  FuseSession& operator=(const FuseSession&) = delete;

  // Serves requests until the filesystem is unmounted or a signal arrives.
  Status Loop();
  void Invalidate(const Invalidation& invalidation) override;

 private:
  FuseSession(fuse_session* session, SessionOptions options)
      : session_(session), options_(std::move(options)) {}

  fuse_session* session_;
  const SessionOptions options_;
};

// "a,b\,c": one -o argument, commas and backslashes in values escaped.
std::string JoinFuseOptions(const std::vector<std::string>& options);

}  // namespace re2po::fs
