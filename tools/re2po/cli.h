// Shared plumbing of the re2po subcommands: global options, declaring a
// command, opening the store, printing errors, sizes, JSON and progress, and
// the exit-code contract (0 success, 1 failure, 2 usage error).
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "store/base/names.h"
#include "store/store.h"

namespace re2po::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Options every command takes, before or after its name.
struct GlobalOptions {
  std::string store;      // --store, else RE2PO_STORE, else DefaultStoreDir()
  std::string log_level;  // --log-level; empty when not given (see LogLevelOr)
  int lock_timeout_seconds = 300;
  std::string keyring;  // --keyring, else RE2PO_KEYRING; empty: none
};

// Declares the global options on `app` (the program, and each command so
// that they may follow its name).
void AddGlobalOptions(CLI::App& app, GlobalOptions& global);
// The --log-level given, else `fallback`.
std::string LogLevelOr(const GlobalOptions& global, const std::string& fallback);

// The command the parse chose, bound to its parsed arguments.
using CommandFn = std::function<Status(const GlobalOptions&)>;

// Adds the subcommand `name`. When the parse chooses it, `chosen` becomes
// `run` over the global options and `args`, which the caller binds to the
// subcommand's options and which lives as long as the subcommand.
template <typename Args>
CLI::App& AddCommand(CLI::App& app, CommandFn& chosen, std::shared_ptr<Args> args,
                     const std::string& name, const std::string& description,
                     Status (*run)(const GlobalOptions&, const Args&)) {
  CLI::App* command = app.add_subcommand(name, description);
  command->callback([&chosen, args, run] {
    chosen = [args, run](const GlobalOptions& global) { return run(global, *args); };
  });
  return *command;
}

// What starts every error message, usage errors included.
inline constexpr std::string_view kErrorPrefix = "re2po: error: ";
// Prints kErrorPrefix and `message` on stderr.
void PrintError(std::string_view message);
// A failure the command has explained in its own output (verify's damage
// report, the mount's messages): exit 1 without another line.
Status AlreadyReported();
// The exit status of a command that ended with `status`, its error printed.
int ExitStatus(const Status& status);

std::filesystem::path DefaultStoreDir();
std::filesystem::path StoreDir(const GlobalOptions& options);
// The keyring --keyring names, else RE2PO_KEYRING; empty when neither does.
std::string KeyringPath(const GlobalOptions& options);
// The keyring named by --keyring or RE2PO_KEYRING, loaded; null when none is.
Result<std::shared_ptr<const Keyring>> LoadKeyring(const GlobalOptions& options);
// Opens the store with the keyring, if one is named.
Result<std::unique_ptr<Store>> OpenStore(const GlobalOptions& options, bool writer);

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

// Resolves MODEL@VERSION (or MODEL for its latest) in the store's catalog.
Result<VersionRecord> ResolveVersion(Store& store, const std::string& ref);

}  // namespace re2po::cli
