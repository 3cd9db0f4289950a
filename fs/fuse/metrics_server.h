// The mount's Prometheus endpoint (-o metrics=ADDR): GET /metrics over TCP
// or a unix socket, served by cpp-httplib on one thread of its own. Each
// scrape samples the repository's atomics (MountedRepository::SampleMetrics),
// so it never waits for, nor holds up, a FUSE request. The daemon records
// the address it listens on in <store>/access/metrics/<mount id>.addr
// (address, then mountpoint) for `re2po top MOUNTPOINT`.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fs/core/mount_options.h"
#include "store/base/status.h"

namespace httplib {
class Server;
}

namespace re2po::fs {

class MountedRepository;

class MetricsServer {
 public:
  // Binds `address` (port 0: any free port) and serves `render()` at
  // /metrics until destroyed.
  static Result<std::unique_ptr<MetricsServer>> Start(const ListenAddress& address,
                                                      std::function<std::string()> render);
  ~MetricsServer();  // stops, joins, removes a unix socket it created
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Where it listens, with the port it was given ("127.0.0.1:40123").
  const ListenAddress& address() const { return bound_; }

 private:
  MetricsServer(std::unique_ptr<httplib::Server> server, ListenAddress bound);

  std::unique_ptr<httplib::Server> server_;
  ListenAddress bound_;
  std::thread thread_;
};

// The mount's endpoint as its options say; null when metrics are off. Also
// writes the address file, which the destructor of the returned guard removes.
class MountMetricsEndpoint {
 public:
  static Result<std::unique_ptr<MountMetricsEndpoint>> Start(MountedRepository& repo,
                                                             const MountOptions& options);
  ~MountMetricsEndpoint();
  MountMetricsEndpoint(const MountMetricsEndpoint&) = delete;
  MountMetricsEndpoint& operator=(const MountMetricsEndpoint&) = delete;

 private:
  MountMetricsEndpoint(std::unique_ptr<MetricsServer> server, std::filesystem::path address_file)
      : server_(std::move(server)), address_file_(std::move(address_file)) {}
  std::unique_ptr<MetricsServer> server_;
  std::filesystem::path address_file_;  // empty: none written
};

// The directory of address files of a store's mounts.
std::filesystem::path MetricsAddressDir(const std::filesystem::path& store_dir);
// The addresses recorded for `mountpoint` under `store_dir`, newest first.
std::vector<std::string> RecordedMetricsAddresses(const std::filesystem::path& store_dir,
                                                  const std::filesystem::path& mountpoint);

// GET /metrics from a mount's endpoint ("HOST:PORT" or a socket path).
Result<std::string> ScrapeMetrics(const std::string& address,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace re2po::fs
