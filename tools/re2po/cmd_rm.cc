#include <iostream>

#include "tools/re2po/commands.h"

namespace re2po::cli {

Status RunRemove(const GlobalOptions& global, const RemoveArgs& args) {
  ASSIGN_OR_RETURN(VersionRef ref, ParseVersionRef(args.ref));
  if (!ref.version) {
    return Status::InvalidArgument("rm needs MODEL@VERSION, got '" + args.ref + "'");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(global, /*writer=*/true));
  RETURN_IF_ERROR(store->Remove(ref.model, *ref.version));
  std::cout << "removed " << args.ref << std::endl;
  return Status::Ok();
}

void RegisterRemove(CLI::App& app, CommandFn& chosen) {
  auto args = std::make_shared<RemoveArgs>();
  CLI::App& rm = AddCommand(app, chosen, args, "rm",
                            "remove a version (its space returns at the next gc)", RunRemove);
  rm.add_option("MODEL@VERSION", args->ref, "the version")->required();
}

}  // namespace re2po::cli
