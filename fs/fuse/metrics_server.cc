// cpp-httplib (Debian's libcpp-httplib, 0.11) may throw: every call into it
// is inside a try here, so no exception leaves this file.
#include "fs/fuse/metrics_server.h"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "fs/core/metrics_text.h"
#include "fs/core/mounted_repo.h"
#include "fs/core/usage_recorder.h"
#include "store/base/log.h"

namespace re2po::fs {
namespace {

namespace stdfs = std::filesystem;

std::shared_ptr<spdlog::logger> Log() { return Logger("metrics"); }

constexpr std::chrono::seconds kStartTimeout{5};
constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

// A socket file left by a daemon that died: nothing accepts on it any more.
void RemoveStaleSocket(const stdfs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return;
  const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  const bool live = ::connect(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(probe);
  if (!live) ::unlink(path.c_str());
}

// Binds; returns the port (TCP) or 0 (unix), or -1.
int Bind(httplib::Server& server, const ListenAddress& address) {
  if (address.is_unix()) {
    if (address.socket_path.string().size() >= sizeof(sockaddr_un::sun_path)) return -1;
    RemoveStaleSocket(address.socket_path);
    server.set_address_family(AF_UNIX);
    return server.bind_to_port(address.socket_path.string(), 80) ? 0 : -1;
  }
  if (address.port == 0) return server.bind_to_any_port(address.host);
  return server.bind_to_port(address.host, address.port) ? address.port : -1;
}

void Serve(httplib::Server& server) {
  // Termination signals belong to the FUSE loop (mount.cc); httplib's
  // worker threads, started from this one, inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  try {
    server.listen_after_bind();
  } catch (const std::exception& e) {
    Log()->error("metrics endpoint stopped: {}", e.what());
  }
}

Status WriteAddressFile(const stdfs::path& file, const std::string& address,
                        const stdfs::path& mountpoint) {
  std::error_code ec;
  stdfs::create_directories(file.parent_path(), ec);
  if (ec) return Status::IOError("creating " + file.parent_path().string() + ": " + ec.message());
  const stdfs::path temporary = file.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << address << "\n" << mountpoint.string() << "\n";
    if (!out.flush()) return Status::IOError("writing " + temporary.string());
  }
  stdfs::rename(temporary, file, ec);
  if (ec) return Status::IOError("renaming " + temporary.string() + ": " + ec.message());
  return Status::Ok();
}

}  // namespace

MetricsServer::MetricsServer(std::unique_ptr<httplib::Server> server, ListenAddress bound)
    : server_(std::move(server)), bound_(std::move(bound)) {
  thread_ = std::thread([server = server_.get()] { Serve(*server); });
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const ListenAddress& address,
                                                            std::function<std::string()> render) {
  try {
    auto server = std::make_unique<httplib::Server>();
    server->new_task_queue = [] { return new httplib::ThreadPool(1); };  // scrapes are rare
    server->set_read_timeout(std::chrono::seconds(5));
    server->set_write_timeout(std::chrono::seconds(5));
    server->Get("/metrics", [render](const httplib::Request&, httplib::Response& response) {
      response.set_content(render(), kContentType);
    });
    server->set_exception_handler(
        [](const httplib::Request&, httplib::Response& response, std::exception_ptr error) {
          std::string what = "unknown error";
          try {
            std::rethrow_exception(error);
          } catch (const std::exception& e) {
            what = e.what();
          } catch (...) {
          }
          Log()->error("metrics scrape failed: {}", what);
          response.status = 500;
          response.set_content("scrape failed: " + what + "\n", "text/plain");
        });
    const int port = Bind(*server, address);
    if (port < 0) {
      return Status::IOError("cannot listen on " + address.ToString() +
                             " for metrics: " + std::strerror(errno));
    }
    ListenAddress bound = address;
    if (!bound.is_unix()) bound.port = port;
    std::unique_ptr<MetricsServer> started(new MetricsServer(std::move(server), std::move(bound)));
    // stop() only ends a loop that is running: wait for it, so that
    // destroying the server right away cannot leave its thread in accept().
    const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
    while (!started->server_->is_running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (!started->server_->is_running())
      return Status::IOError("the metrics endpoint did not start");
    return started;
  } catch (const std::exception& e) {
    return Status::IOError(std::string("metrics endpoint: ") + e.what());
  }
}

MetricsServer::~MetricsServer() {
  try {
    server_->stop();
  } catch (const std::exception& e) {
    Log()->warn("stopping the metrics endpoint: {}", e.what());
  }
  if (thread_.joinable()) thread_.join();
  if (bound_.is_unix()) ::unlink(bound_.socket_path.c_str());
}

Result<std::unique_ptr<MountMetricsEndpoint>> MountMetricsEndpoint::Start(
    MountedRepository& repo, const MountOptions& options) {
  if (!options.metrics) return std::unique_ptr<MountMetricsEndpoint>();
  ASSIGN_OR_RETURN(std::unique_ptr<MetricsServer> server,
                   MetricsServer::Start(*options.metrics,
                                        [&repo] { return MetricsText(repo.SampleMetrics()); }));
  const std::string address = server->address().ToString();
  Log()->info("serving metrics on {}", address);
  stdfs::path file = MetricsAddressDir(options.store_dir) / (DefaultMountId() + ".addr");
  Status written = WriteAddressFile(file, address, options.mountpoint);
  if (!written.ok()) {
    Log()->warn("re2po top will need --metrics {}: {}", address, written.ToString());
    file.clear();
  }
  return std::unique_ptr<MountMetricsEndpoint>(
      new MountMetricsEndpoint(std::move(server), std::move(file)));
}

MountMetricsEndpoint::~MountMetricsEndpoint() {
  server_.reset();
  std::error_code ignored;
  if (!address_file_.empty()) stdfs::remove(address_file_, ignored);
}

stdfs::path MetricsAddressDir(const stdfs::path& store_dir) {
  return store_dir / "access" / "metrics";
}

std::vector<std::string> RecordedMetricsAddresses(const stdfs::path& store_dir,
                                                  const stdfs::path& mountpoint) {
  std::vector<std::pair<stdfs::file_time_type, std::string>> found;
  std::error_code ec;
  for (const auto& entry : stdfs::directory_iterator(MetricsAddressDir(store_dir), ec)) {
    if (entry.path().extension() != ".addr") continue;
    std::ifstream in(entry.path());
    std::string address, recorded_mountpoint;
    if (!std::getline(in, address) || !std::getline(in, recorded_mountpoint)) continue;
    if (stdfs::path(recorded_mountpoint) != mountpoint) continue;
    found.emplace_back(stdfs::last_write_time(entry.path(), ec), address);
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> addresses;
  for (auto& [time, address] : found) addresses.push_back(std::move(address));
  return addresses;
}

Result<std::string> ScrapeMetrics(const std::string& address, std::chrono::milliseconds timeout) {
  ASSIGN_OR_RETURN(ListenAddress parsed, ParseListenAddress(address));
  try {
    std::unique_ptr<httplib::Client> client;
    if (parsed.is_unix()) {
      client = std::make_unique<httplib::Client>(parsed.socket_path.string());
      client->set_address_family(AF_UNIX);
    } else {
      client = std::make_unique<httplib::Client>(parsed.host, parsed.port);
    }
    client->set_connection_timeout(timeout);
    client->set_read_timeout(timeout);
    httplib::Result response = client->Get("/metrics");
    if (!response) {
      return Status::IOError("cannot scrape " + address + ": " +
                             httplib::to_string(response.error()));
    }
    if (response->status != 200) {
      return Status::IOError("scraping " + address + ": HTTP " + std::to_string(response->status));
    }
    return response->body;
  } catch (const std::exception& e) {
    return Status::IOError("scraping " + address + ": " + e.what());
  }
}

}  // namespace re2po::fs
