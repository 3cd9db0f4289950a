#include <algorithm>
#include <cstdio>

#include "tools/re2po/commands.h"

namespace re2po::cli {
namespace {

double Ratio(uint64_t a, uint64_t b) { return b ? double(a) / double(b) : 0.0; }

nlohmann::json ByKindJson(const StoreStats& stats) {
  nlohmann::json kinds = nlohmann::json::object();
  for (const auto& [kind, bytes] : stats.by_kind) {
    kinds[kind] = {
        {"chunks", bytes.chunks},
        {"raw_bytes", bytes.raw_bytes},
        {"stored_bytes", bytes.stored_bytes},
        {"saved_bytes", bytes.raw_bytes - std::min(bytes.raw_bytes, bytes.stored_bytes)}};
  }
  return kinds;
}

void PrintStatsJson(const StoreStats& stats) {
  PrintJson({{"models", stats.models},
             {"stored_as", ByKindJson(stats)},
             {"versions", stats.versions},
             {"logical_bytes", stats.logical_bytes},
             {"unique_bytes", stats.unique_bytes},
             {"stored_bytes", stats.stored_bytes},
             {"disk_bytes", stats.disk_bytes},
             {"chunk_count", stats.chunk_count},
             {"dedup_ratio", Ratio(stats.logical_bytes, stats.unique_bytes)},
             {"compression_ratio", Ratio(stats.unique_bytes, stats.stored_bytes)}});
}

void PrintStatsText(const StoreStats& stats) {
  std::printf("models:            %llu\nversions:          %llu\n",
              (unsigned long long)stats.models, (unsigned long long)stats.versions);
  std::printf("logical bytes:     %s\nunique bytes:      %s\nstored bytes:      %s\n",
              HumanBytes(stats.logical_bytes).c_str(), HumanBytes(stats.unique_bytes).c_str(),
              HumanBytes(stats.stored_bytes).c_str());
  std::printf("on disk:           %s\nchunks:            %llu\n",
              HumanBytes(stats.disk_bytes).c_str(), (unsigned long long)stats.chunk_count);
  std::printf("dedup ratio:       %.2fx\ncompression ratio: %.2fx\n",
              Ratio(stats.logical_bytes, stats.unique_bytes),
              Ratio(stats.unique_bytes, stats.stored_bytes));
  // What each way of storing a chunk saved: compression alone ("whole"),
  // the XOR with a base ("delta"), or a derivation.
  std::printf("stored as:\n");
  for (const auto& [kind, bytes] : stats.by_kind) {
    const uint64_t saved = bytes.raw_bytes - std::min(bytes.raw_bytes, bytes.stored_bytes);
    std::printf("  %-28s %8llu chunks %12s -> %12s  saved %5.1f%%\n", kind.c_str(),
                (unsigned long long)bytes.chunks, HumanBytes(bytes.raw_bytes).c_str(),
                HumanBytes(bytes.stored_bytes).c_str(), 100.0 * Ratio(saved, bytes.raw_bytes));
  }
}

}  // namespace

Status RunStats(const GlobalOptions& global, const StatsArgs& args) {
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(global, /*writer=*/false));
  ASSIGN_OR_RETURN(StoreStats stats, store->Stats());
  if (args.json) {
    PrintStatsJson(stats);
  } else {
    PrintStatsText(stats);
  }
  return Status::Ok();
}

void RegisterStats(CLI::App& app, CommandFn& chosen) {
  auto args = std::make_shared<StatsArgs>();
  CLI::App& stats = AddCommand(app, chosen, args, "stats",
                               "logical and stored bytes, dedup and compression", RunStats);
  stats.add_flag("--json", args->json, "print JSON");
}

}  // namespace re2po::cli
