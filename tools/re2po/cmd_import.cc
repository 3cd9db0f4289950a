#include <iostream>

#include "tools/re2po/cli.h"

namespace re2po::cli {
namespace {

struct ImportArgs {
  std::string target;
  std::string path;
  std::vector<std::string> labels;
  bool generic_only = false;
  bool no_delta = false;
  int zstd_level = 1;
  bool json = false;
};

Result<std::map<std::string, std::string>> ParseLabels(const std::vector<std::string>& labels) {
  std::map<std::string, std::string> parsed;
  for (const std::string& label : labels) {
    size_t eq = label.find('=');
    if (eq == 0 || eq == std::string::npos) {
      return Status::InvalidArgument("label '" + label + "' is not key=value");
    }
    parsed[label.substr(0, eq)] = label.substr(eq + 1);
  }
  return parsed;
}

nlohmann::json SummaryJson(const ImportSummary& summary) {
  const VersionRecord& v = summary.version;
  nlohmann::json files = nlohmann::json::array();
  for (const auto& file : summary.files) {
    files.push_back({{"path", file.path},
                     {"format", file.format},
                     {"size", file.size},
                     {"tensors", file.tensors},
                     {"fallback", file.fallback_reason}});
  }
  double dedup =
      v.logical_bytes ? 1.0 - double(summary.new_raw_bytes) / double(v.logical_bytes) : 0;
  return {{"model", v.model},
          {"version", v.version},
          {"digest", v.digest.Hex()},
          {"files", v.file_count},
          {"logical_bytes", v.logical_bytes},
          {"new_bytes", v.new_bytes},
          {"new_raw_bytes", summary.new_raw_bytes},
          {"chunks", summary.chunks},
          {"new_chunks", summary.new_chunks},
          {"delta_chunks", summary.delta_chunks},
          {"delta_raw_bytes", summary.delta_raw_bytes},
          {"dedup_ratio", dedup},
          {"seconds", summary.seconds},
          {"formats", summary.files_per_format},
          {"file_details", files},
          {"warnings", summary.warnings}};
}

void PrintSummary(const ImportSummary& summary) {
  const VersionRecord& v = summary.version;
  double seconds = std::max(summary.seconds, 1e-9);
  std::cout << "imported " << v.model << "@" << v.version << " (" << v.digest.ShortHex() << ")\n"
            << "  files:          " << v.file_count << "\n"
            << "  logical bytes:  " << HumanBytes(v.logical_bytes) << "\n"
            << "  newly stored:   " << HumanBytes(v.new_bytes) << " ("
            << HumanBytes(summary.new_raw_bytes) << " before compression)\n";
  if (v.logical_bytes > 0) {
    std::printf("  deduplicated:   %.1f%% of the bytes were already stored\n",
                100.0 * (1.0 - double(summary.new_raw_bytes) / double(v.logical_bytes)));
  }
  if (summary.delta_chunks > 0) {
    std::cout << "  as differences: " << HumanBytes(summary.delta_raw_bytes) << " in "
              << summary.delta_chunks << " chunks stored against earlier tensors\n";
  }
  std::cout << "  throughput:     " << HumanBytes(uint64_t(double(v.logical_bytes) / seconds))
            << "/s\n  formats:";
  for (const auto& [format, count] : summary.files_per_format) {
    std::cout << " " << format << "=" << count;
  }
  std::cout << "\n";
  for (const auto& file : summary.files) {
    if (!file.fallback_reason.empty()) {
      std::cout << "  fallback: " << file.path << ": generic chunking (" << file.fallback_reason
                << ")\n";
    }
  }
  std::cout << std::flush;
}

}  // namespace

void AddImport(CLI::App& app, GlobalOptions& global, CommandFn& run) {
  auto args = std::make_shared<ImportArgs>();
  auto* cmd = app.add_subcommand("import", "import a model file or directory as a new version");
  cmd->add_option("target", args->target, "MODEL or MODEL@VERSION (default: latest + 1)")
      ->required();
  cmd->add_option("path", args->path, "a model file or directory")->required();
  cmd->add_option("--label,-l", args->labels, "key=value, repeatable");
  cmd->add_flag("--generic", args->generic_only, "content-defined chunking only (no parsers)");
  cmd->add_flag("--no-delta", args->no_delta,
                "store changed tensors whole, not as differences from earlier ones");
  cmd->add_option("--zstd-level", args->zstd_level, "zstd level for chunks (default 1)");
  cmd->add_flag("--json", args->json, "print the summary as JSON");
  cmd->callback([&global, &run, args] {
    run = [&global, args] {
      ImportRequest request;
      auto ref = ParseVersionRef(args->target);
      if (!ref.ok()) return Fail(ref.status());
      auto labels = ParseLabels(args->labels);
      if (!labels.ok()) return Fail(labels.status());
      request.model = ref->model;
      request.version = ref->version;
      request.source = args->path;
      request.labels = *labels;
      request.format_aware = !args->generic_only;
      request.delta = !args->no_delta;
      request.codec.zstd_level = args->zstd_level;
      auto store = OpenStore(global, /*writer=*/true);
      if (!store.ok()) return Fail(store.status());
      Progress progress("importing " + args->target);
      request.progress = progress.Fn();
      auto summary = (*store)->Import(request);
      if (!summary.ok()) return Fail(summary.status());
      for (const auto& warning : summary->warnings)
        std::cerr << "re2po: warning: " << warning << "\n";
      if (args->json) {
        PrintJson(SummaryJson(*summary));
      } else {
        PrintSummary(*summary);
      }
      return kExitOk;
    };
  });
}

}  // namespace re2po::cli
