#include <iostream>

#include "tools/re2po/cli.h"

namespace re2po::cli {

void AddInit(CLI::App& app, GlobalOptions& global, CommandFn& run) {
  auto* cmd = app.add_subcommand("init", "create an empty store");
  cmd->callback([&global, &run] {
    run = [&global] {
      auto dir = StoreDir(global);
      Status status = Store::Init(dir);
      if (!status.ok()) return Fail(status);
      std::cout << "initialised store " << dir.string() << std::endl;
      return kExitOk;
    };
  });
}

}  // namespace re2po::cli
