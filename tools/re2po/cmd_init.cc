#include <iostream>

#include "tools/re2po/commands.h"

namespace re2po::cli {

Status RunInit(const GlobalOptions& global, const InitArgs& /*args*/) {
  const std::filesystem::path dir = StoreDir(global);
  RETURN_IF_ERROR(Store::Init(dir));
  std::cout << "initialised store " << dir.string() << std::endl;
  return Status::Ok();
}

void RegisterInit(CLI::App& app, CommandFn& chosen) {
  AddCommand(app, chosen, std::make_shared<InitArgs>(), "init", "create an empty store", RunInit);
}

}  // namespace re2po::cli
