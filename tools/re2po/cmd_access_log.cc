// re2po access-log: the records mounts wrote to <store>/access/access.jsonl
// (and its rotated files), oldest first, filtered by model and age. The
// format is fs/core/access_log.h's; this reads it with no FUSE code, so it
// works on a build without the mount.
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "store/base/clock.h"
#include "tools/re2po/commands.h"

namespace re2po::cli {
namespace {
namespace stdfs = std::filesystem;

// The log's files, oldest first: PATH.N ... PATH.1, then PATH.
std::vector<stdfs::path> LogFiles(const stdfs::path& path) {
  std::vector<stdfs::path> files;
  std::error_code ec;
  for (int n = 1; stdfs::exists(path.string() + "." + std::to_string(n), ec); ++n) {
    files.insert(files.begin(), path.string() + "." + std::to_string(n));
  }
  if (stdfs::exists(path, ec)) files.push_back(path);
  return files;
}

// "90s", "15m", "1h", "2d", or a number of seconds, in nanoseconds.
Result<int64_t> ParseAge(const std::string& text) {
  const Status bad =
      Status::InvalidArgument("bad --since '" + text + "' (expected e.g. 90s, 15m, 1h, 2d)");
  int64_t count = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
  if (ec != std::errc() || count < 0) return bad;
  const std::string unit(end, text.data() + text.size());
  int64_t seconds_per = 0;
  if (unit.empty() || unit == "s") seconds_per = 1;
  if (unit == "m") seconds_per = 60;
  if (unit == "h") seconds_per = 3600;
  if (unit == "d") seconds_per = 86400;
  if (seconds_per == 0 || count > INT64_MAX / 1'000'000'000 / seconds_per) return bad;
  return count * seconds_per * 1'000'000'000;
}

struct Filter {
  std::optional<VersionRef> ref;
  int64_t since_ns = 0;  // records older than this are skipped
};

bool Wanted(const nlohmann::json& record, const Filter& filter) {
  if (record.value("time_ns", int64_t{0}) < filter.since_ns) return false;
  if (record.contains("lost")) return true;  // it may hide records of any model
  if (!filter.ref) return true;
  if (record.value("model", "") != filter.ref->model) return false;
  return !filter.ref->version || record.value("version", uint64_t{0}) == *filter.ref->version;
}

void PrintHeader() {
  std::printf("%-24s %-24s %-30s %-6s %6s %8s %-15s %s\n", "TIME", "MODEL@VERSION", "PATH", "FROM",
              "UID", "PID", "COMMAND", "CGROUP");
}

void PrintText(const nlohmann::json& record) {
  const std::string time = record.value("time", "");
  if (record.contains("lost")) {
    std::printf("%-24s (%llu records were lost here: the log's queue was full)\n", time.c_str(),
                static_cast<unsigned long long>(record.value("lost", uint64_t{0})));
    return;
  }
  const std::string ref =
      record.value("model", "?") + "@" + std::to_string(record.value("version", uint64_t{0}));
  std::printf("%-24s %-24s %-30s %-6s %6llu %8lld %-15s %s\n", time.c_str(), ref.c_str(),
              record.value("path", "").c_str(), record.value("served_from", "").c_str(),
              static_cast<unsigned long long>(record.value("uid", uint64_t{0})),
              static_cast<long long>(record.value("pid", int64_t{0})),
              record.value("command", "").c_str(), record.value("cgroup", "").c_str());
}

// Prints the wanted records of one file; returns how many lines were unreadable.
size_t PrintFile(const stdfs::path& file, const Filter& filter, bool json) {
  std::ifstream in(file);
  size_t unreadable = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!record.is_object()) {
      ++unreadable;  // e.g. a line being written right now
      continue;
    }
    if (!Wanted(record, filter)) continue;
    if (json) {
      std::cout << line << "\n";
    } else {
      PrintText(record);
    }
  }
  return unreadable;
}

}  // namespace

Status RunAccessLog(const GlobalOptions& global, const AccessLogArgs& args) {
  Filter filter;
  if (!args.ref.empty()) {
    ASSIGN_OR_RETURN(filter.ref, ParseVersionRef(args.ref));
  }
  if (!args.since.empty()) {
    ASSIGN_OR_RETURN(int64_t age, ParseAge(args.since));
    filter.since_ns = NowNs() - age;
  }
  const stdfs::path path =
      args.file.empty() ? StoreDir(global) / "access" / "access.jsonl" : stdfs::path(args.file);
  const std::vector<stdfs::path> files = LogFiles(path);
  if (files.empty()) {
    return Status::NotFound("no access log at " + path.string() +
                            " (mounts write it unless mounted with -o access_log=off)");
  }
  if (!args.json) PrintHeader();
  size_t unreadable = 0;
  for (const stdfs::path& file : files) unreadable += PrintFile(file, filter, args.json);
  std::cout.flush();
  if (unreadable > 0) {
    std::fprintf(stderr, "re2po: skipped %zu unreadable lines\n", unreadable);
  }
  return Status::Ok();
}

void RegisterAccessLog(CLI::App& app, CommandFn& chosen) {
  auto args = std::make_shared<AccessLogArgs>();
  CLI::App& command = AddCommand(app, chosen, args, "access-log",
                                 "which process opened which model files, and when", RunAccessLog);
  command.add_option("MODEL[@VERSION]", args->ref, "only this model (or version)");
  command.add_option("--since", args->since, "only the last 90s, 15m, 1h, 2d...")
      ->option_text("AGE");
  command.add_option("--file", args->file, "the log file (default: <store>/access/access.jsonl)")
      ->option_text("PATH");
  command.add_flag("--json", args->json, "print the records as JSON lines");
}

}  // namespace re2po::cli
