#include <fstream>
#include <iostream>
#include <sstream>

#include "store/fleet/node_cache.h"
#include "store/fleet/open_remote.h"
#include "tools/re2po/commands.h"
#include "tools/re2po/remotes.h"

namespace re2po::cli {
namespace stdfs = std::filesystem;
namespace {

Result<stdfs::path> CacheDirOf(const CacheArgs& args) {
  if (!args.cache_dir.empty()) return stdfs::path(args.cache_dir);
  if (args.remote.empty()) {
    return Status::InvalidArgument("name the cache: REMOTE or --cache-dir DIR");
  }
  ASSIGN_OR_RETURN(RemoteConfig remote, ResolveRemote(args.remote));
  return remote.cache_dir.empty() ? DefaultCacheDir(remote.url) : stdfs::path(remote.cache_dir);
}

// What the daemon of the mount that holds the cache last wrote of it and
// of its requests to the remote (every catalog poll).
nlohmann::json DaemonStats(const stdfs::path& cache_dir) {
  std::ifstream in(cache_dir / "node-stats.json");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json stats = nlohmann::json::parse(text.str(), nullptr, false);
  return stats.is_object() ? stats : nlohmann::json::object();
}

// The cache's figures: from its database when no daemon holds it, else as
// its daemon last wrote them (its newest chunks are not on disk yet).
Result<NodeCacheStats> CacheStats(const stdfs::path& dir, const nlohmann::json& daemon) {
  NodeCacheOptions options;
  options.dir = dir;
  if (!stdfs::exists(dir / "db" / "CURRENT"))
    return Status::NotFound("no node cache at " + dir.string());
  Result<std::unique_ptr<NodeCache>> cache = NodeCache::Open(options);
  if (cache.ok()) return (*cache)->Stats();
  if (cache.status().code() != StatusCode::kBusy || !daemon.contains("cache")) {
    return cache.status();
  }
  const nlohmann::json& figures = daemon["cache"];
  NodeCacheStats stats;
  stats.chunks = figures.value("chunks", uint64_t{0});
  stats.bytes = figures.value("bytes", uint64_t{0});
  stats.max_bytes = figures.value("max_bytes", uint64_t{0});
  stats.evicted_chunks = figures.value("evicted_chunks", uint64_t{0});
  stats.evicted_bytes = figures.value("evicted_bytes", uint64_t{0});
  stats.disk_bytes = figures.value("disk_bytes", uint64_t{0});
  return stats;
}

}  // namespace

Status RunCacheStats(const GlobalOptions& /*global*/, const CacheArgs& args) {
  ASSIGN_OR_RETURN(stdfs::path dir, CacheDirOf(args));
  const nlohmann::json daemon = DaemonStats(dir);
  ASSIGN_OR_RETURN(NodeCacheStats stats, CacheStats(dir, daemon));
  const nlohmann::json counters = daemon.value("remote", nlohmann::json::object());
  if (args.json) {
    PrintJson({{"cache_dir", dir.string()},
               {"chunks", stats.chunks},
               {"bytes", stats.bytes},
               {"max_bytes", stats.max_bytes},
               {"evicted_chunks", stats.evicted_chunks},
               {"disk_bytes", stats.disk_bytes},
               {"remote", counters}});
    return Status::Ok();
  }
  std::cout << "cache " << dir.string() << "\n"
            << "  chunks:        " << stats.chunks << "\n"
            << "  cached:        " << HumanBytes(stats.bytes);
  if (stats.max_bytes > 0) std::cout << " of " << HumanBytes(stats.max_bytes);
  std::cout << "\n"
            << "  on disk:       " << HumanBytes(stats.disk_bytes) << "\n";
  if (!counters.empty()) {
    std::cout << "  remote:        " << counters.value("requests", uint64_t{0}) << " requests, "
              << HumanBytes(counters.value("bytes_received", uint64_t{0})) << " received, "
              << counters.value("errors", uint64_t{0}) << " errors (the mount's daemon)\n";
  }
  return Status::Ok();
}

Status RunCacheClear(const GlobalOptions& /*global*/, const CacheArgs& args) {
  ASSIGN_OR_RETURN(stdfs::path dir, CacheDirOf(args));
  NodeCacheOptions options;
  options.dir = dir;
  Result<std::unique_ptr<NodeCache>> cache = NodeCache::Open(options);
  if (!cache.ok() && cache.status().code() == StatusCode::kBusy) {
    return Status::Busy("a mount's daemon uses " + dir.string() + ": unmount it first");
  }
  if (!cache.ok()) return cache.status();
  const uint64_t before = (*cache)->Stats().bytes;
  RETURN_IF_ERROR((*cache)->ClearChunks());
  std::cout << "dropped " << HumanBytes(before) << " of chunks from " << dir.string()
            << " (the catalog stays: mounts still start while the remote is down)" << std::endl;
  return Status::Ok();
}

void RegisterCache(CLI::App& app, CommandFn& chosen) {
  CLI::App* cache = app.add_subcommand("cache", "look at or empty this node's cache of a remote");
  cache->require_subcommand(1);
  auto stats_args = std::make_shared<CacheArgs>();
  CLI::App& stats =
      AddCommand(*cache, chosen, stats_args, "stats",
                 "what the node cache holds, and what the mount fetched", RunCacheStats);
  auto clear_args = std::make_shared<CacheArgs>();
  CLI::App& clear = AddCommand(*cache, chosen, clear_args, "clear",
                               "drop every cached chunk (no mount may use it)", RunCacheClear);
  for (auto& [command, args] : {std::pair{&stats, stats_args}, std::pair{&clear, clear_args}}) {
    command->add_option("REMOTE", args->remote, "a remote's name or URL");
    command->add_option("--cache-dir", args->cache_dir, "the cache directory")->option_text("DIR");
  }
  stats.add_flag("--json", stats_args->json, "print JSON");
}

}  // namespace re2po::cli
