// `re2po log MODEL`: a model's lineage, oldest first: each version's id,
// when and by whom it was made, what it was derived from and what it cost.
#include <cstdio>
#include <iostream>

#include "tools/re2po/commands.h"
#include "tools/re2po/provenance_view.h"

namespace re2po::cli {
namespace {

nlohmann::json LogEntry(const VersionRecord& version, nlohmann::json provenance) {
  provenance["version"] = version.version;
  provenance["created"] = FormatTime(version.created_ns);
  provenance["logical_bytes"] = version.logical_bytes;
  provenance["new_bytes"] = version.new_bytes;
  provenance["files"] = version.file_count;
  return provenance;
}

void PrintEntry(const std::string& model, const nlohmann::json& entry) {
  std::printf("%s@%llu  %s  %s\n", model.c_str(),
              static_cast<unsigned long long>(entry["version"].get<uint64_t>()),
              entry["short_id"].get<std::string>().c_str(),
              entry["created"].get<std::string>().c_str());
  const std::string user = entry["imported_by"].get<std::string>();
  if (!user.empty()) {
    std::printf("    by %s on %s with %s\n", user.c_str(), entry["host"].get<std::string>().c_str(),
                entry["tool"].get<std::string>().c_str());
  }
  if (!entry["parent"].is_null()) {
    std::printf("    from %s\n", entry["parent"]["version"].get<std::string>().c_str());
  }
  for (const auto& base : entry["delta_bases"]) {
    std::printf("    deltas against %s\n", base.get<std::string>().c_str());
  }
  std::printf(
      "    %s in %llu files, %s newly stored%s\n", HumanBytes(entry["logical_bytes"]).c_str(),
      static_cast<unsigned long long>(entry["files"].get<uint64_t>()),
      HumanBytes(entry["new_bytes"]).c_str(), entry["signature"].is_null() ? "" : ", signed");
}

}  // namespace

Status RunLog(const GlobalOptions& global, const LogArgs& args) {
  RETURN_IF_ERROR(ValidateModelName(args.model));
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(global, /*writer=*/false));
  const auto catalog = store->Catalog();
  const ModelEntry* model = catalog->FindModel(args.model);
  if (model == nullptr || model->versions.empty()) {
    return Status::NotFound("no model " + args.model);
  }
  nlohmann::json entries = nlohmann::json::array();
  for (const VersionRecord& version : model->versions) {
    ASSIGN_OR_RETURN(nlohmann::json provenance, ProvenanceJson(*store, version));
    entries.push_back(LogEntry(version, std::move(provenance)));
  }
  if (args.json) {
    PrintJson({{"model", args.model}, {"versions", entries}});
    return Status::Ok();
  }
  for (const auto& entry : entries) PrintEntry(args.model, entry);
  std::cout << std::flush;
  return Status::Ok();
}

void RegisterLog(CLI::App& app, CommandFn& chosen) {
  auto args = std::make_shared<LogArgs>();
  CLI::App& log = AddCommand(app, chosen, args, "log",
                             "a model's lineage: versions, ids, parents, what each stored", RunLog);
  log.add_option("MODEL", args->model, "the model")->required();
  log.add_flag("--json", args->json, "print JSON");
}

}  // namespace re2po::cli
