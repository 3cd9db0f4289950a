// Shared plumbing of the re2po subcommands: global options, opening the
// store, printing sizes, JSON and progress, and the exit-code contract
// (0 success, 1 failure, 2 usage error).
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "store/base/names.h"
#include "store/store.h"

namespace re2po::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

struct GlobalOptions {
  std::string store;  // --store, else RE2PO_STORE, else DefaultStoreDir()
  std::string log_level = "warn";
  int lock_timeout_seconds = 300;
  bool json = false;
};

std::filesystem::path DefaultStoreDir();
std::filesystem::path StoreDir(const GlobalOptions& options);
Result<std::unique_ptr<Store>> OpenStore(const GlobalOptions& options, bool writer);

// Prints "re2po: <message>" on stderr and returns kExitFailure.
int Fail(const Status& status);
std::string HumanBytes(uint64_t bytes);
std::string FormatTime(int64_t ns);
void PrintJson(const nlohmann::json& value);

// A progress bar with rate and ETA on stderr, only when stderr is a terminal.
class Progress {
 public:
  explicit Progress(std::string label);
  ~Progress();
  void Update(uint64_t done, uint64_t total);
  ProgressFn Fn() {
    return [this](uint64_t done, uint64_t total) { Update(done, total); };
  }

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_{};
};

// Each subcommand registers itself and sets the function to run.
using CommandFn = std::function<int()>;
void AddInit(CLI::App& app, GlobalOptions& global, CommandFn& run);
void AddImport(CLI::App& app, GlobalOptions& global, CommandFn& run);
void AddList(CLI::App& app, GlobalOptions& global, CommandFn& run);
void AddShow(CLI::App& app, GlobalOptions& global, CommandFn& run);
void AddExport(CLI::App& app, GlobalOptions& global, CommandFn& run);
void AddCat(CLI::App& app, GlobalOptions& global, CommandFn& run);
void AddRemove(CLI::App& app, GlobalOptions& global, CommandFn& run);
void AddGc(CLI::App& app, GlobalOptions& global, CommandFn& run);
void AddVerify(CLI::App& app, GlobalOptions& global, CommandFn& run);
void AddStats(CLI::App& app, GlobalOptions& global, CommandFn& run);
void AddDiff(CLI::App& app, GlobalOptions& global, CommandFn& run);
void AddMount(CLI::App& app, GlobalOptions& global, CommandFn& run);

// Resolves MODEL@VERSION (or MODEL for its latest) in the store's catalog.
Result<VersionRecord> ResolveVersion(Store& store, const std::string& ref);

}  // namespace re2po::cli
