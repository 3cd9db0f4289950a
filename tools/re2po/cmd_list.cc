#include <cstdio>
#include <iostream>

#include "tools/re2po/commands.h"
#include "tools/re2po/usage_view.h"

namespace re2po::cli {
namespace {

nlohmann::json VersionJson(const VersionRecord& v, const VersionUsageView& usage) {
  nlohmann::json labels = v.labels;
  nlohmann::json out = {{"version", v.version},
                        {"digest", v.digest.Hex()},
                        {"created", FormatTime(v.created_ns)},
                        {"files", v.file_count},
                        {"logical_bytes", v.logical_bytes},
                        {"new_bytes", v.new_bytes},
                        {"source", v.source_path},
                        {"labels", labels},
                        {"opens", usage.opens}};
  out["last_access"] = usage.last_access_ns ? FormatTime(usage.last_access_ns) : "";
  return out;
}

void ListModels(Store& store, bool json) {
  auto catalog = store.Catalog();
  nlohmann::json models = nlohmann::json::array();
  if (!json)
    std::printf("%-32s %8s %8s %12s %12s\n", "MODEL", "VERSIONS", "LATEST", "LOGICAL", "STORED");
  for (const ModelEntry& model : catalog->models()) {
    uint64_t logical = 0, stored = 0;
    for (const VersionRecord& v : model.versions) {
      logical += v.logical_bytes;
      stored += v.new_bytes;
    }
    uint64_t latest = model.Latest() ? model.Latest()->version : 0;
    if (json) {
      models.push_back({{"model", model.name},
                        {"versions", model.versions.size()},
                        {"latest", latest},
                        {"logical_bytes", logical},
                        {"stored_bytes", stored}});
    } else {
      std::printf("%-32s %8zu %8llu %12s %12s\n", model.name.c_str(), model.versions.size(),
                  static_cast<unsigned long long>(latest), HumanBytes(logical).c_str(),
                  HumanBytes(stored).c_str());
    }
  }
  if (json) PrintJson(models);
}

Status ListVersions(Store& store, const std::string& name, bool json) {
  auto catalog = store.Catalog();
  const ModelEntry* model = catalog->FindModel(name);
  if (!model) return Status::NotFound("no model '" + name + "' in the store");
  auto usage = LoadUsage(store.dir());
  nlohmann::json versions = nlohmann::json::array();
  if (!json) {
    std::printf("%-8s %-20s %6s %12s %12s %-12s %6s %s\n", "VERSION", "CREATED", "FILES", "LOGICAL",
                "NEW", "DIGEST", "OPENS", "LAST ACCESS");
  }
  for (const VersionRecord& v : model->versions) {
    VersionUsageView use = usage[{name, v.version}];
    if (json) {
      versions.push_back(VersionJson(v, use));
      continue;
    }
    std::printf("%-8llu %-20s %6llu %12s %12s %-12s %6llu %s\n",
                static_cast<unsigned long long>(v.version), FormatTime(v.created_ns).c_str(),
                static_cast<unsigned long long>(v.file_count), HumanBytes(v.logical_bytes).c_str(),
                HumanBytes(v.new_bytes).c_str(), v.digest.ShortHex().c_str(),
                static_cast<unsigned long long>(use.opens),
                use.last_access_ns ? FormatTime(use.last_access_ns).c_str() : "-");
  }
  if (json) PrintJson(versions);
  return Status::Ok();
}

}  // namespace

Status RunList(const GlobalOptions& global, const ListArgs& args) {
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(global, /*writer=*/false));
  if (!args.model.empty()) return ListVersions(*store, args.model, args.json);
  ListModels(*store, args.json);
  return Status::Ok();
}

void RegisterList(CLI::App& app, CommandFn& chosen) {
  auto args = std::make_shared<ListArgs>();
  CLI::App& ls =
      AddCommand(app, chosen, args, "ls", "list models, or the versions of one model", RunList);
  ls.add_option("MODEL", args->model, "a model name");
  ls.add_flag("--json", args->json, "print JSON");
}

}  // namespace re2po::cli
