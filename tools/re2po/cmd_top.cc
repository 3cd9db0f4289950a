// re2po top: a mount's metrics endpoint, sampled every second and shown as
// rates (reads/s, MB/s, hit ratio, fetches, errors) and the most-opened
// models. The endpoint is found from the mountpoint: /proc/self/mountinfo
// names the store ("re2po:<store>"), where the daemon recorded its address.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "tools/re2po/commands.h"
#ifdef RE2PO_WITH_FS
#include "fs/core/metrics_text.h"
#include "fs/fuse/metrics_server.h"
#include "fs/fuse/mountinfo.h"
#include "store/fleet/open_remote.h"
#endif

namespace re2po::cli {
#ifdef RE2PO_WITH_FS
namespace {
namespace stdfs = std::filesystem;
using fs::ScrapedMetrics;

constexpr auto kInterval = std::chrono::seconds(1);

// The store a re2po mount at `mountpoint` serves, from its source
// ("re2po:/srv/store", or "re2po:s3://..." for a node with the default cache).
Result<stdfs::path> StoreOfMount(const stdfs::path& mountpoint) {
  ASSIGN_OR_RETURN(fs::MountInfoEntry mount, fs::FindMount(mountpoint, fs::kRe2poMountType));
  if (!mount.source.starts_with("re2po:")) {
    return Status::NotFound(mountpoint.string() + " is not a re2po mount");
  }
  const std::string store = mount.source.substr(6);
  if (store.find("://") != std::string::npos) return DefaultCacheDir(store);
  return stdfs::path(store);
}

// A scrape from the first recorded address that answers.
struct Endpoint {
  std::string address;
  ScrapedMetrics metrics;
};

Result<Endpoint> Connect(const GlobalOptions& global, const TopArgs& args) {
  std::vector<std::string> candidates;
  if (!args.metrics.empty()) {
    candidates.push_back(args.metrics);
  } else if (!args.mountpoint.empty()) {
    std::error_code ec;
    const stdfs::path mountpoint = stdfs::canonical(args.mountpoint, ec);
    if (ec) return Status::NotFound("no mountpoint " + args.mountpoint + ": " + ec.message());
    Result<stdfs::path> store = StoreOfMount(mountpoint);
    const stdfs::path store_dir = store.ok() ? *store : StoreDir(global);
    candidates = fs::RecordedMetricsAddresses(store_dir, mountpoint);
    if (candidates.empty()) {
      return Status::NotFound("the mount on " + mountpoint.string() +
                              " records no metrics endpoint under " + store_dir.string() +
                              " (mount it with -o metrics=127.0.0.1:9317, or give --metrics ADDR)");
    }
  } else {
    return Status::InvalidArgument("give a MOUNTPOINT or --metrics ADDR");
  }
  Status last = Status::NotFound("no endpoint");
  for (const std::string& address : candidates) {
    Result<std::string> text = fs::ScrapeMetrics(address);
    if (text.ok()) return Endpoint{address, ScrapedMetrics::Parse(*text)};
    last = text.status();
  }
  return last;
}

double Delta(const ScrapedMetrics& before, const ScrapedMetrics& after, const char* name,
             const ScrapedMetrics::Labels& labels = {}) {
  return std::max(0.0, after.Value(name, labels) - before.Value(name, labels));
}
double DeltaSum(const ScrapedMetrics& before, const ScrapedMetrics& after, const char* name) {
  return std::max(0.0, after.Sum(name) - before.Sum(name));
}

void PrintRates(const ScrapedMetrics& a, const ScrapedMetrics& b, double seconds) {
  const ScrapedMetrics::Labels read = {{"operation", "read"}};
  const ScrapedMetrics::Labels open = {{"operation", "open"}};
  const double hits = Delta(a, b, "re2po_chunk_cache_hits_total");
  const double misses = Delta(a, b, "re2po_chunk_cache_misses_total");
  const double reads = Delta(a, b, "re2po_fuse_read_duration_seconds_count");
  const double read_seconds = Delta(a, b, "re2po_fuse_read_duration_seconds_sum");
  std::printf("reads/s %10.1f   read MB/s %9.2f   mean read %8.3f ms   opens/s %8.1f\n",
              Delta(a, b, "re2po_fuse_requests_total", read) / seconds,
              Delta(a, b, "re2po_fuse_reply_bytes_total", read) / seconds / 1e6,
              reads > 0 ? read_seconds / reads * 1e3 : 0.0,
              Delta(a, b, "re2po_fuse_requests_total", open) / seconds);
  std::printf(
      "cache hit %7.1f %%   cache %s of %s   evictions/s %8.1f\n",
      hits + misses > 0 ? 100.0 * hits / (hits + misses) : 100.0,
      HumanBytes(static_cast<uint64_t>(b.Value("re2po_chunk_cache_bytes"))).c_str(),
      HumanBytes(static_cast<uint64_t>(b.Value("re2po_chunk_cache_capacity_bytes"))).c_str(),
      Delta(a, b, "re2po_chunk_cache_evictions_total") / seconds);
  std::printf("fetches/s %8.1f   fetch MB/s %8.2f   fetch errors/s %6.1f   EIO/s %6.1f\n",
              Delta(a, b, "re2po_store_fetches_total") / seconds,
              Delta(a, b, "re2po_store_fetch_bytes_total") / seconds / 1e6,
              Delta(a, b, "re2po_store_fetch_errors_total") / seconds,
              DeltaSum(a, b, "re2po_fuse_eio_replies_total") / seconds);
  if (b.Has("re2po_remote_requests_total")) {
    std::printf("remote: requests/s %7.1f   MB/s %8.2f   errors/s %5.1f   retries/s %5.1f\n",
                Delta(a, b, "re2po_remote_requests_total") / seconds,
                Delta(a, b, "re2po_remote_received_bytes_total") / seconds / 1e6,
                Delta(a, b, "re2po_remote_errors_total") / seconds,
                Delta(a, b, "re2po_remote_retries_total") / seconds);
  }
  std::printf("read-ahead: queued/s %7.1f   fetched/s %7.1f   dropped/s %7.1f\n",
              Delta(a, b, "re2po_readahead_queued_chunks_total") / seconds,
              Delta(a, b, "re2po_readahead_fetched_chunks_total") / seconds,
              Delta(a, b, "re2po_readahead_dropped_chunks_total") / seconds);
}

void PrintModels(const ScrapedMetrics& a, const ScrapedMetrics& b, size_t count) {
  auto series = b.Series("re2po_model_opens_total");
  std::sort(series.begin(), series.end(),
            [](const auto& x, const auto& y) { return x.second > y.second; });
  std::printf("\n%-40s %12s %10s\n", "MOST-OPENED MODELS", "OPENS", "LAST 1 S");
  for (size_t i = 0; i < series.size() && i < count; ++i) {
    const auto& [labels, opens] = series[i];
    std::printf("%-40s %12.0f %10.0f\n", labels.at("model").c_str(), opens,
                std::max(0.0, opens - a.Value("re2po_model_opens_total", labels)));
  }
  if (series.empty()) std::printf("(no opens yet)\n");
}

void PrintSample(const std::string& address, const ScrapedMetrics& a, const ScrapedMetrics& b,
                 double seconds, const TopArgs& args) {
  std::string kind = "?";
  for (const auto& [labels, value] : b.Series("re2po_store_info")) {
    if (labels.contains("kind")) kind = labels.at("kind");
  }
  std::printf("re2po top: %s (%s store, catalog generation %.0f, refreshed %.1f s ago)\n\n",
              address.c_str(), kind.c_str(), b.Value("re2po_catalog_generation"),
              b.Value("re2po_catalog_refresh_age_seconds"));
  PrintRates(a, b, seconds);
  PrintModels(a, b, args.models);
}

}  // namespace
#endif

Status RunTop(const GlobalOptions& global, const TopArgs& args) {
#ifdef RE2PO_WITH_FS
  ASSIGN_OR_RETURN(Endpoint endpoint, Connect(global, args));
  const bool live = !args.once && ::isatty(STDOUT_FILENO);
  ScrapedMetrics before = std::move(endpoint.metrics);
  auto taken = std::chrono::steady_clock::now();
  while (true) {
    std::this_thread::sleep_for(kInterval);
    ASSIGN_OR_RETURN(std::string text, fs::ScrapeMetrics(endpoint.address));
    const auto now = std::chrono::steady_clock::now();
    ScrapedMetrics after = ScrapedMetrics::Parse(text);
    if (live) std::printf("\033[H\033[2J");  // home, clear: redraw in place
    PrintSample(endpoint.address, before, after, std::chrono::duration<double>(now - taken).count(),
                args);
    std::fflush(stdout);
    if (!live) return Status::Ok();
    before = std::move(after);
    taken = now;
  }
#else
  (void)global;
  (void)args;
  return Status::Unsupported("this re2po was built without FUSE support");
#endif
}

void RegisterTop(CLI::App& app, CommandFn& chosen) {
  auto args = std::make_shared<TopArgs>();
  CLI::App& top =
      AddCommand(app, chosen, args, "top",
                 "live reads, cache and errors of a mount (its metrics endpoint)", RunTop);
  top.add_option("MOUNTPOINT", args->mountpoint, "a re2po mount with -o metrics=ADDR");
  top.add_option("--metrics", args->metrics, "the endpoint: HOST:PORT or a unix socket path")
      ->option_text("ADDR");
  top.add_flag("--once", args->once,
               "print one sample (1 s) as plain text and exit (also when not on a terminal)");
  top.add_option("--models", args->models, "how many of the most-opened models to show (5)")
      ->option_text("N");
}

}  // namespace re2po::cli
