// Tensor-level comparison of two versions (store/diff.h), as text or JSON.
#include <cstdio>

#include "store/diff.h"
#include "tools/re2po/commands.h"

namespace re2po::cli {
namespace {

nlohmann::json ItemsJson(const DiffGroup& group) {
  nlohmann::json list = nlohmann::json::array();
  for (const DiffItem& item : group.items) {
    nlohmann::json entry = {{"name", item.name}, {"bytes", item.bytes}};
    if (!item.stored.empty()) entry["stored"] = item.stored;
    list.push_back(std::move(entry));
  }
  return list;
}

void PrintDiffJson(const DiffArgs& args, const VersionDiff& diff) {
  PrintJson({{"a", args.a},
             {"b", args.b},
             {"shared", ItemsJson(diff.shared)},
             {"changed", ItemsJson(diff.changed)},
             {"added", ItemsJson(diff.added)},
             {"removed", ItemsJson(diff.removed)},
             {"shared_bytes", diff.shared.bytes},
             {"changed_bytes", diff.changed.bytes},
             {"added_bytes", diff.added.bytes},
             {"removed_bytes", diff.removed.bytes}});
}

void PrintItems(const char* label, const DiffGroup& group) {
  for (const DiffItem& item : group.items) {
    std::printf("  %-8s %-60s %12s%s%s\n", label, item.name.c_str(), HumanBytes(item.bytes).c_str(),
                item.stored.empty() ? "" : "  ", item.stored.c_str());
  }
}

void PrintDiffText(const DiffArgs& args, const VersionDiff& diff) {
  std::printf("%s -> %s\n", args.a.c_str(), args.b.c_str());
  if (args.all) PrintItems("shared", diff.shared);
  PrintItems("changed", diff.changed);
  PrintItems("added", diff.added);
  PrintItems("removed", diff.removed);
  std::printf("shared %zu (%s), changed %zu (%s), added %zu (%s), removed %zu (%s)\n",
              diff.shared.items.size(), HumanBytes(diff.shared.bytes).c_str(),
              diff.changed.items.size(), HumanBytes(diff.changed.bytes).c_str(),
              diff.added.items.size(), HumanBytes(diff.added.bytes).c_str(),
              diff.removed.items.size(), HumanBytes(diff.removed.bytes).c_str());
}

}  // namespace

Status RunDiff(const GlobalOptions& global, const DiffArgs& args) {
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(global, /*writer=*/false));
  ASSIGN_OR_RETURN(VersionRecord a, ResolveVersion(*store, args.a));
  ASSIGN_OR_RETURN(VersionRecord b, ResolveVersion(*store, args.b));
  ASSIGN_OR_RETURN(VersionDiff diff,
                   DiffVersions(*store, a, b, DiffOptions{.describe_storage = args.stored}));
  if (args.json) {
    PrintDiffJson(args, diff);
  } else {
    PrintDiffText(args, diff);
  }
  return Status::Ok();
}

void RegisterDiff(CLI::App& app, CommandFn& chosen) {
  auto args = std::make_shared<DiffArgs>();
  CLI::App& diff =
      AddCommand(app, chosen, args, "diff", "compare two versions tensor by tensor", RunDiff);
  diff.add_option("A", args->a, "MODEL@VERSION (or MODEL for its latest)")->required();
  diff.add_option("B", args->b, "MODEL@VERSION (or MODEL for its latest), compared with A")
      ->required();
  diff.add_flag("--json", args->json, "print JSON");
  diff.add_flag("--all", args->all, "also list shared tensors");
  diff.add_flag("--stored", args->stored,
                "say how each changed or added tensor is stored, and from what tensor");
}

}  // namespace re2po::cli
