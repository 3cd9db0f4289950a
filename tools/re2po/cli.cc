#include "tools/re2po/cli.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>

namespace re2po::cli {
namespace stdfs = std::filesystem;
namespace {

// spdlog's level names, what --log-level takes.
constexpr std::string_view kLogLevels[] = {"trace", "debug",    "info", "warn",
                                           "error", "critical", "off"};

// CLI11 prints "--log-level: <this>" for a value the check refuses.
std::string CheckLogLevel(const std::string& level) {
  for (std::string_view known : kLogLevels) {
    if (level == known) return "";
  }
  return "unknown log level '" + level + "' (use trace, debug, info, warn, error, critical or off)";
}

}  // namespace

void AddGlobalOptions(CLI::App& app, GlobalOptions& global) {
  constexpr const char* kGroup = "Global options";
  // The last one given wins, as it does when one follows the command: an
  // alias's --store can be overridden.
  constexpr auto kLastWins = CLI::MultiOptionPolicy::TakeLast;
  app.add_option("--store", global.store,
                 "store directory (default: $RE2PO_STORE, else " + DefaultStoreDir().string() + ")")
      ->type_name("DIR")
      ->multi_option_policy(kLastWins)
      ->group(kGroup);
  app.add_option("--log-level", global.log_level,
                 "trace, debug, info, warn (default), error, critical or off")
      ->type_name("LEVEL")
      ->check(CLI::Validator(CheckLogLevel, "", "log level"))
      ->multi_option_policy(kLastWins)
      ->group(kGroup);
  app.add_option("--lock-timeout", global.lock_timeout_seconds,
                 "seconds a writer waits for another writer (default 300)")
      ->type_name("SECONDS")
      ->multi_option_policy(kLastWins)
      ->group(kGroup);
  app.add_option("--keyring", global.keyring,
                 "keyring of protected models' keys (default: $RE2PO_KEYRING, else none)")
      ->type_name("FILE")
      ->multi_option_policy(kLastWins)
      ->group(kGroup);
}

std::string LogLevelOr(const GlobalOptions& global, const std::string& fallback) {
  return global.log_level.empty() ? fallback : global.log_level;
}

stdfs::path DefaultStoreDir() {
  if (geteuid() == 0) return "/var/lib/re2po/store";
  const char* data_home = std::getenv("XDG_DATA_HOME");
  if (data_home && *data_home) return stdfs::path(data_home) / "re2po" / "store";
  const char* home = std::getenv("HOME");
  return stdfs::path(home ? home : "/tmp") / ".local" / "share" / "re2po" / "store";
}

stdfs::path StoreDir(const GlobalOptions& options) {
  if (!options.store.empty()) return options.store;
  const char* env = std::getenv("RE2PO_STORE");
  if (env && *env) return env;
  return DefaultStoreDir();
}

std::string KeyringPath(const GlobalOptions& options) {
  if (!options.keyring.empty()) return options.keyring;
  const char* env = std::getenv("RE2PO_KEYRING");
  return env ? env : "";
}

Result<std::shared_ptr<const Keyring>> LoadKeyring(const GlobalOptions& options) {
  const std::string path = KeyringPath(options);
  if (path.empty()) return std::shared_ptr<const Keyring>();
  ASSIGN_OR_RETURN(Keyring keyring, Keyring::Load(path));
  return std::make_shared<const Keyring>(std::move(keyring));
}

Result<std::unique_ptr<Store>> OpenStore(const GlobalOptions& options, bool writer) {
  StoreOptions store_options;
  ASSIGN_OR_RETURN(store_options.keyring, LoadKeyring(options));
  store_options.dir = StoreDir(options);
  store_options.writer = writer;
  store_options.lock_timeout = std::chrono::seconds(options.lock_timeout_seconds);
  store_options.on_lock_wait = [](const std::string& message) {
    std::cerr << "re2po: " << message << std::endl;
  };
  return Store::Open(store_options);
}

Status AlreadyReported() { return Status::IOError(""); }

void PrintError(std::string_view message) { std::cerr << kErrorPrefix << message << std::endl; }

int ExitStatus(const Status& status) {
  if (status.ok()) return kExitOk;
  if (!status.message().empty()) PrintError(status.message());
  return kExitFailure;
}

std::string HumanBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char buffer[32];
  if (unit == 0) {
    std::snprintf(buffer, sizeof buffer, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buffer, sizeof buffer, value < 10 ? "%.2f %s" : "%.1f %s", value, kUnits[unit]);
  }
  return buffer;
}

std::string FormatTime(int64_t ns) {
  time_t seconds = static_cast<time_t>(ns / 1'000'000'000);
  struct tm utc {};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

void PrintJson(const nlohmann::json& value) { std::cout << value.dump(2) << std::endl; }

Progress::Progress(std::string label)
    : label_(std::move(label)),
      enabled_(isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() {
  if (drawn_) std::cerr << "\r\033[K" << std::flush;
}

void Progress::Update(uint64_t done, uint64_t total) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100) && done < total) return;
  last_draw_ = now;
  double seconds = std::chrono::duration<double>(now - start_).count();
  double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  double percent = total ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100;
  double eta = rate > 0 && total > done ? static_cast<double>(total - done) / rate : 0;
  char line[160];
  std::snprintf(line, sizeof line, "\r\033[K%s %5.1f%%  %s/s  ETA %.0fs", label_.c_str(), percent,
                HumanBytes(static_cast<uint64_t>(rate)).c_str(), std::ceil(eta));
  std::cerr << line << std::flush;
  drawn_ = true;
}

Result<VersionRecord> ResolveVersion(Store& store, const std::string& ref) {
  ASSIGN_OR_RETURN(VersionRef parsed, ParseVersionRef(ref));
  auto catalog = store.Catalog();
  const ModelEntry* model = catalog->FindModel(parsed.model);
  if (!model) return Status::NotFound("no model '" + parsed.model + "' in the store");
  const VersionRecord* record = parsed.version ? model->Find(*parsed.version) : model->Latest();
  if (!record) return Status::NotFound("no version " + ref + " in the store");
  return *record;
}

}  // namespace re2po::cli
