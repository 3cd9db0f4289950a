#include <iostream>

#include "tools/re2po/commands.h"

namespace re2po::cli {
namespace {

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
          {"protected_by", v.protection ? v.protection->key_name : ""},
          {"files", v.file_count},
          {"logical_bytes", v.logical_bytes},
          {"new_bytes", v.new_bytes},
          {"new_raw_bytes", summary.new_raw_bytes},
          {"chunks", summary.chunks},
          {"new_chunks", summary.new_chunks},
          {"delta_chunks", summary.delta_chunks},
          {"delta_raw_bytes", summary.delta_raw_bytes},
          {"derived_chunks", summary.derived_chunks},
          {"derived_raw_bytes", summary.derived_raw_bytes},
          {"dedup_ratio", dedup},
          {"seconds", summary.seconds},
          {"formats", summary.files_per_format},
          {"file_details", files},
          {"warnings", summary.warnings}};
}

void PrintSummary(const ImportSummary& summary) {
  const VersionRecord& v = summary.version;
  double seconds = std::max(summary.seconds, 1e-9);
  std::cout << "imported " << v.model << "@" << v.version << " (" << v.digest.ShortHex() << ")\n";
  if (v.protection) std::cout << "  protected by:   key " << v.protection->key_name << "\n";
  std::cout << "  files:          " << v.file_count << "\n"
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
  if (summary.derived_chunks > 0) {
    std::cout << "  derived:        " << HumanBytes(summary.derived_raw_bytes) << " in "
              << summary.derived_chunks
              << " of them predicted from other tensors (casts, quantizations, rescalings,\n"
                 "                  permutations)\n";
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

Result<ImportRequest> RequestOf(const ImportArgs& args) {
  ASSIGN_OR_RETURN(VersionRef ref, ParseVersionRef(args.target));
  ImportRequest request;
  ASSIGN_OR_RETURN(request.labels, ParseLabels(args.labels));
  request.model = ref.model;
  request.version = ref.version;
  request.source = args.path;
  request.format_aware = !args.generic_only;
  request.delta = !args.no_delta;
  request.codec.zstd_level = args.zstd_level;
  if (!args.from.empty()) {
    ASSIGN_OR_RETURN(VersionRef from, ParseVersionRef(args.from));
    request.from_model = from.model;
    request.from_version = from.version;
  }
  return request;
}

}  // namespace

// The key --protect names, from the keyring the global options name.
Result<std::shared_ptr<const SealingKey>> ProtectingKey(const GlobalOptions& global,
                                                        const std::string& name) {
  ASSIGN_OR_RETURN(std::shared_ptr<const Keyring> keyring, LoadKeyring(global));
  if (!keyring) {
    return Status::InvalidArgument("--protect " + name +
                                   " needs a keyring: --keyring FILE or RE2PO_KEYRING");
  }
  ASSIGN_OR_RETURN(const SealingKey* key, keyring->Find(name));
  return std::make_shared<const SealingKey>(*key);
}

Status RunImport(const GlobalOptions& global, const ImportArgs& args) {
  ASSIGN_OR_RETURN(ImportRequest request, RequestOf(args));
  if (!args.protect.empty()) {
    ASSIGN_OR_RETURN(request.protect, ProtectingKey(global, args.protect));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(global, /*writer=*/true));
  Progress progress("importing " + args.target);
  request.progress = progress.Fn();
  ASSIGN_OR_RETURN(ImportSummary summary, store->Import(request));
  for (const auto& warning : summary.warnings) std::cerr << "re2po: warning: " << warning << "\n";
  if (args.json) {
    PrintJson(SummaryJson(summary));
  } else {
    PrintSummary(summary);
  }
  return Status::Ok();
}

void RegisterImport(CLI::App& app, CommandFn& chosen) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App& import = AddCommand(app, chosen, args, "import",
                                "import a model file or directory as a new version", RunImport);
  import
      .add_option("MODEL[@VERSION]", args->target,
                  "the model, and the version (default: latest + 1)")
      ->required();
  import.add_option("PATH", args->path, "a model file or directory")->required();
  import.add_option("--from", args->from,
                    "MODEL[@VERSION] this version was derived from (fine-tuned, converted), "
                    "kept in its provenance");
  // One KEY=VALUE per -l: the word after it is an argument, never another label.
  import.add_option("-l,--label", args->labels, "attach a label; repeatable")
      ->option_text("KEY=VALUE")
      ->allow_extra_args(false);
  import.add_flag("--generic", args->generic_only, "content-defined chunking only (no parsers)");
  import.add_flag("--no-delta", args->no_delta,
                  "store changed tensors whole, not as differences from earlier ones");
  import.add_option("--zstd-level", args->zstd_level, "zstd level for chunks (default 1)")
      ->type_name("N");
  import
      .add_option("--protect", args->protect,
                  "seal every chunk with this key of the keyring (AES-256-GCM): only "
                  "holders of the key can read the version")
      ->type_name("KEY");
  import.add_flag("--json", args->json, "print the summary as JSON");
}

}  // namespace re2po::cli
