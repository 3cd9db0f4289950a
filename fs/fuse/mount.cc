// RunMount (fs/fuse/mount.h): from options to a served, cleanly unmounted
// filesystem. Order matters:
//   1. check paths, clear a stale mount   (in the caller's process, so the
//                                          user sees the messages)
//   2. fork to the background             (before any thread exists)
//   3. block SIGTERM/SIGINT/SIGHUP, open the store, mount, start the
//      refresher and the readiness check  (their threads inherit the block,
//                                          so only the FUSE loop's threads
//                                          ever take a termination signal)
//   4. unblock, run the FUSE loop         (until unmounted or signalled)
//   5. stop the refresher (final usage flush), unmount.
#include "fs/fuse/mount.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "fs/core/mounted_repo.h"
#include "fs/core/refresher.h"
#include "fs/fuse/daemon.h"
#include "fs/fuse/fuse_session.h"
#include "fs/fuse/kernel_readahead.h"
#include "fs/fuse/metrics_server.h"
#include "fs/fuse/mountpoint.h"
#include "store/base/clock.h"
#include "store/base/log.h"
#include "store/fleet/open_remote.h"
#include "store/fleet/pull.h"
#include "store/store.h"

namespace re2po::fs {
namespace {
namespace stdfs = std::filesystem;

constexpr std::chrono::seconds kStartupTimeout{120};

void SetTerminationSignalsBlocked(bool blocked) {
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, sig);
  pthread_sigmask(blocked ? SIG_BLOCK : SIG_UNBLOCK, &signals, nullptr);
}

// What is mounted, for messages and fsname=.
std::string SourceName(const MountOptions& options) {
  return options.remote.url.empty() ? options.store_dir.string() : options.remote.url;
}

Result<MountOptions> Normalize(const MountOptions& given) {
  MountOptions options = given;
  std::error_code ec;
  if (!options.remote.url.empty()) {
    if (options.remote.cache_dir.empty())
      options.remote.cache_dir = DefaultCacheDir(given.remote.url);
    options.remote.cache_dir = stdfs::absolute(options.remote.cache_dir, ec);
    if (!options.remote.trust.empty())
      options.remote.trust = stdfs::absolute(options.remote.trust, ec);
    options.store_dir = options.remote.cache_dir;  // usage files go beside the cache
  }
  options.store_dir = stdfs::absolute(options.store_dir, ec);
  if (ec) return Status::InvalidArgument("bad store path " + given.store_dir.string());
  options.mountpoint = stdfs::absolute(given.mountpoint, ec).lexically_normal();
  if (ec) return Status::InvalidArgument("bad mountpoint " + given.mountpoint.string());
  if (options.mountpoint.has_filename() == false && options.mountpoint != "/") {
    options.mountpoint = options.mountpoint.parent_path();  // drop a trailing slash
  }
  if (!options.log_file.empty()) options.log_file = stdfs::absolute(options.log_file, ec);
  if (options.remote.url.empty() && !stdfs::is_directory(options.store_dir, ec)) {
    return Status::NotFound("no store at " + options.store_dir.string());
  }
  return options;
}

Result<std::shared_ptr<const Keyring>> LoadKeyring(const MountOptions& options) {
  if (options.keyring.empty()) return std::shared_ptr<const Keyring>();
  ASSIGN_OR_RETURN(Keyring keyring, Keyring::Load(options.keyring));
  return std::make_shared<const Keyring>(std::move(keyring));
}

Result<std::unique_ptr<Store>> OpenStore(const MountOptions& options,
                                         std::shared_ptr<const Keyring> keyring) {
  if (!options.remote.url.empty()) {
    NodeSpec node;
    node.remote.url = options.remote.url;
    node.remote.endpoint = options.remote.endpoint;
    node.remote.deadline = options.remote.timeout;
    node.remote.user_agent = options.remote.user_agent;
    node.cache_dir = options.remote.cache_dir;
    node.cache_max_bytes = options.remote.cache_max_bytes;
    node.trust = options.remote.trust;
    node.memory_cache_bytes = options.cache_bytes;
    node.keyring = std::move(keyring);
    return OpenNode(node);
  }
  StoreOptions store_options;
  store_options.dir = options.store_dir;
  store_options.writer = false;  // read-only, reopened to catch up: never blocks an import
  store_options.cache_bytes = options.cache_bytes;
  store_options.keyring = std::move(keyring);
  return Store::Open(store_options);
}

Result<std::unique_ptr<MountedRepository>> OpenRepository(const MountOptions& options) {
  ASSIGN_OR_RETURN(std::shared_ptr<const Keyring> keyring, LoadKeyring(options));
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(options, keyring));
  RepoOptions repo_options;
  repo_options.keyring = std::move(keyring);
  repo_options.owner = {::getuid(), ::getgid(), std::nullopt};
  repo_options.mounted_ns = NowNs();
  repo_options.whole_file_readahead =
      std::min(options.whole_file_readahead, options.cache_bytes / 4);
  repo_options.metrics = options.metrics.has_value();
  auto usage = std::make_unique<UsageRecorder>(options.store_dir, DefaultMountId());
  return std::make_unique<MountedRepository>(std::move(store), std::move(usage), repo_options,
                                             OpenMountAccessLog(options));
}

SessionOptions SessionOptionsFor(const MountOptions& options) {
  SessionOptions session;
  session.mountpoint = options.mountpoint;
  session.fsname = "re2po:" + SourceName(options);
  session.allow_other = options.allow_other;
  session.fuse_options = options.fuse_options;
  session.debug = options.log_level == "trace";
  return session;
}

// Chunk buffers touched when the mount is ready: enough for a 128 MiB model,
// and room for the read buffers of the four read-ahead threads.
constexpr size_t kWarmBufferBytes = size_t{128} << 20;
constexpr size_t kWarmHeapBytes = size_t{16} << 20;

// Before the mount is reported ready, so the first cold read already gets
// large requests. Without root the kernel's default stays: slower, not wrong.
void RaiseKernelReadahead(const MountOptions& options) {
  if (options.kernel_readahead == 0) return;
  Status raised = SetKernelReadahead(options.mountpoint, options.kernel_readahead);
  if (raised.ok()) {
    Logger("fs")->debug("kernel read-ahead {} KiB", options.kernel_readahead >> 10);
  } else {
    Logger("fs")->info("kernel read-ahead left at the kernel's default: {}", raised.message());
  }
}

// A node's cache names the mount that owns it, so `re2po pull` can fill it
// by reading through the mount while the daemon holds the cache.
void RecordMountpoint(const MountOptions& options) {
  if (options.remote.url.empty()) return;
  std::ofstream out(options.remote.cache_dir / "mountpoint", std::ios::trunc);
  out << options.mountpoint.string() << "\n";
}

void ForgetMountpoint(const MountOptions& options) {
  if (options.remote.url.empty()) return;
  std::error_code ignored;
  stdfs::remove(options.remote.cache_dir / "mountpoint", ignored);
}

// -o prefetch=MODEL[@VERSION]: their chunks fetched into the node cache
// while the mount already serves, ahead of the first function's cold start.
std::jthread PrefetchInBackground(MountedRepository& repo, const std::vector<std::string>& models) {
  if (models.empty()) return {};
  return std::jthread([&repo, models](std::stop_token stop) {
    std::vector<VersionRef> refs;
    for (const std::string& model : models) {
      Result<VersionRef> ref = ParseVersionRef(model);
      if (!ref.ok()) {
        Logger("fs")->warn("prefetch: {}", ref.status().message());
        continue;
      }
      refs.push_back(*ref);
    }
    Result<PullSummary> pulled = Pull(repo.store(), refs, /*threads=*/4, nullptr, stop);
    if (!pulled.ok()) {
      Logger("fs")->warn("prefetch stopped: {}", pulled.status().message());
      return;
    }
    Logger("fs")->info("prefetched {} versions: {} chunks, {} bytes", pulled->versions,
                       pulled->chunks, pulled->bytes);
  });
}

// Steps 3-5. Returns once the filesystem is unmounted.
Status Serve(const MountOptions& options, StartupReporter& reporter) {
  SetTerminationSignalsBlocked(true);
  ASSIGN_OR_RETURN(std::unique_ptr<MountedRepository> repo, OpenRepository(options));
  ASSIGN_OR_RETURN(std::unique_ptr<MountMetricsEndpoint> metrics,
                   MountMetricsEndpoint::Start(*repo, options));  // destroyed before repo
  ASSIGN_OR_RETURN(std::unique_ptr<FuseSession> session,
                   FuseSession::Mount(*repo, SessionOptionsFor(options)));
  Refresher refresher(*repo, session.get(), {});
  refresher.Start();
  std::thread readiness([&] {
    Status serving = CheckServing(options.mountpoint);
    if (!serving.ok()) {
      reporter.Failed(serving);
      ::kill(::getpid(), SIGTERM);  // ends the loop below
      return;
    }
    RecordMountpoint(options);
    RaiseKernelReadahead(options);
    reporter.Ready("mounted " + SourceName(options) + " on " + options.mountpoint.string() +
                   " (read-only, chunk cache " + std::to_string(options.cache_bytes >> 20) +
                   " MiB)");
    Store::WarmReadBuffers(std::min(options.cache_bytes / 2, kWarmBufferBytes),
                           std::min(options.cache_bytes / 4, kWarmHeapBytes));
  });
  std::jthread prefetch = PrefetchInBackground(*repo, options.remote.prefetch);
  SetTerminationSignalsBlocked(false);
  Status loop = session->Loop();
  SetTerminationSignalsBlocked(true);  // the loop's threads are gone; finish undisturbed
  refresher.Stop();
  session.reset();  // unmounts (lazily), which also ends a stat still pending
  readiness.join();
  prefetch.request_stop();  // then joined as it goes
  ForgetMountpoint(options);
  Logger("fs")->info("unmounted {}", options.mountpoint.string());
  return loop;
}

}  // namespace

int RunMount(const MountOptions& given) {
  SetLogLevel(given.log_level);
  Result<MountOptions> options = Normalize(given);
  Status prepared = options.ok() ? PrepareMountpoint(options->mountpoint) : options.status();
  if (!prepared.ok()) {
    PrintError("%s", prepared.message().c_str());
    return 1;
  }
  StartupReporter reporter;
  if (!options->foreground) {
    std::optional<int> parent_exit = ForkToBackground(reporter, options->log_file, kStartupTimeout);
    if (parent_exit) return *parent_exit;
  } else if (!options->log_file.empty()) {
    std::freopen(options->log_file.c_str(), "a", stderr);
  }
  Status served = Serve(*options, reporter);
  if (!served.ok()) {
    reporter.Failed(served);
    return 1;
  }
  return 0;
}

}  // namespace re2po::fs
