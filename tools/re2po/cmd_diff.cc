// Tensor-level comparison of two versions: what a fine-tune really changed.
#include <cstdio>
#include <map>

#include "store/base/dtype.h"
#include "tools/re2po/cli.h"

namespace re2po::cli {
namespace {

struct Item {
  std::string key;  // "path:tensor" or "path" for files without tensors
  Digest digest;
  uint64_t bytes = 0;
};

Result<std::map<std::string, Item>> Items(Store& store, const VersionRecord& version) {
  std::map<std::string, Item> items;
  ASSIGN_OR_RETURN(auto tree, store.Tree(version));
  for (uint32_t i = 1; i < tree->size(); ++i) {
    const TreeEntry& entry = tree->entry(i);
    if (entry.type != EntryType::kFile) continue;
    std::string path = tree->PathOf(i);
    ASSIGN_OR_RETURN(FileInfo info, store.FileDetails(entry.digest));
    if (info.tensors.empty()) {
      items[path] = {path, entry.digest, entry.size};
      continue;
    }
    for (const TensorRecord& t : info.tensors) {
      std::string key = path + ":" + t.name;
      items[key] = {key, t.digest, t.length};
    }
  }
  return items;
}

struct DiffResult {
  std::vector<const Item*> shared, changed, added, removed;
  uint64_t shared_bytes = 0, changed_bytes = 0, added_bytes = 0, removed_bytes = 0;
};

DiffResult Compare(const std::map<std::string, Item>& a, const std::map<std::string, Item>& b) {
  DiffResult diff;
  for (const auto& [key, item] : a) {
    auto it = b.find(key);
    if (it == b.end()) {
      diff.removed.push_back(&item);
      diff.removed_bytes += item.bytes;
    } else if (it->second.digest == item.digest) {
      diff.shared.push_back(&it->second);
      diff.shared_bytes += item.bytes;
    } else {
      diff.changed.push_back(&it->second);
      diff.changed_bytes += it->second.bytes;
    }
  }
  for (const auto& [key, item] : b) {
    if (!a.contains(key)) {
      diff.added.push_back(&item);
      diff.added_bytes += item.bytes;
    }
  }
  return diff;
}

nlohmann::json ListJson(const std::vector<const Item*>& items) {
  nlohmann::json list = nlohmann::json::array();
  for (const Item* item : items) list.push_back({{"name", item->key}, {"bytes", item->bytes}});
  return list;
}

void PrintList(const char* label, const std::vector<const Item*>& items, bool verbose) {
  if (!verbose) return;
  for (const Item* item : items) {
    std::printf("  %-8s %-60s %12s\n", label, item->key.c_str(), HumanBytes(item->bytes).c_str());
  }
}

}  // namespace

void AddDiff(CLI::App& app, GlobalOptions& global, CommandFn& run) {
  struct Args {
    std::string a, b;
    bool json = false, all = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("diff", "compare two versions tensor by tensor");
  cmd->add_option("a", args->a, "MODEL@VERSION")->required();
  cmd->add_option("b", args->b, "MODEL@VERSION")->required();
  cmd->add_flag("--json", args->json, "print JSON");
  cmd->add_flag("--all", args->all, "also list shared tensors");
  cmd->callback([&global, &run, args] {
    run = [&global, args] {
      auto store = OpenStore(global, /*writer=*/false);
      if (!store.ok()) return Fail(store.status());
      auto a = ResolveVersion(**store, args->a);
      if (!a.ok()) return Fail(a.status());
      auto b = ResolveVersion(**store, args->b);
      if (!b.ok()) return Fail(b.status());
      auto items_a = Items(**store, *a);
      if (!items_a.ok()) return Fail(items_a.status());
      auto items_b = Items(**store, *b);
      if (!items_b.ok()) return Fail(items_b.status());
      DiffResult diff = Compare(*items_a, *items_b);
      if (args->json) {
        PrintJson({{"a", args->a},
                   {"b", args->b},
                   {"shared", ListJson(diff.shared)},
                   {"changed", ListJson(diff.changed)},
                   {"added", ListJson(diff.added)},
                   {"removed", ListJson(diff.removed)},
                   {"shared_bytes", diff.shared_bytes},
                   {"changed_bytes", diff.changed_bytes},
                   {"added_bytes", diff.added_bytes},
                   {"removed_bytes", diff.removed_bytes}});
        return kExitOk;
      }
      std::printf("%s -> %s\n", args->a.c_str(), args->b.c_str());
      PrintList("shared", diff.shared, args->all);
      PrintList("changed", diff.changed, true);
      PrintList("added", diff.added, true);
      PrintList("removed", diff.removed, true);
      std::printf("shared %zu (%s), changed %zu (%s), added %zu (%s), removed %zu (%s)\n",
                  diff.shared.size(), HumanBytes(diff.shared_bytes).c_str(), diff.changed.size(),
                  HumanBytes(diff.changed_bytes).c_str(), diff.added.size(),
                  HumanBytes(diff.added_bytes).c_str(), diff.removed.size(),
                  HumanBytes(diff.removed_bytes).c_str());
      return kExitOk;
    };
  });
}

}  // namespace re2po::cli
