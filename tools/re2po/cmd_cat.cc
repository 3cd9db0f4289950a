#include <cstdio>

#include "tools/re2po/commands.h"
#include "tools/re2po/exporter.h"

namespace re2po::cli {

Status RunCat(const GlobalOptions& global, const CatArgs& args) {
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(global, /*writer=*/false));
  ASSIGN_OR_RETURN(VersionRecord version, ResolveVersion(*store, args.ref));
  ASSIGN_OR_RETURN(auto tree, store->Tree(version));
  const std::optional<uint32_t> index = tree->Find(args.path);
  if (!index || tree->entry(*index).type != EntryType::kFile) {
    return Status::NotFound("no file '" + args.path + "' in " + args.ref);
  }
  return StreamFile(*store, tree->entry(*index).digest, stdout);
}

void RegisterCat(CLI::App& app, CommandFn& chosen) {
  auto args = std::make_shared<CatArgs>();
  CLI::App& cat =
      AddCommand(app, chosen, args, "cat", "write one file of a version to stdout", RunCat);
  cat.add_option("MODEL@VERSION", args->ref, "the version")->required();
  cat.add_option("PATH", args->path, "path inside the version")->required();
}

}  // namespace re2po::cli
