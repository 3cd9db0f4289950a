#include <iostream>

#include "tools/re2po/cli.h"
#include "tools/re2po/exporter.h"

namespace re2po::cli {

void AddExport(CLI::App& app, GlobalOptions& global, CommandFn& run) {
  auto ref = std::make_shared<std::string>();
  auto dir = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("export", "write a version's files to a directory");
  cmd->add_option("version", *ref, "MODEL@VERSION")->required();
  cmd->add_option("dir", *dir, "destination (must not exist or be empty)")->required();
  cmd->callback([&global, &run, ref, dir] {
    run = [&global, ref, dir] {
      auto store = OpenStore(global, /*writer=*/false);
      if (!store.ok()) return Fail(store.status());
      auto version = ResolveVersion(**store, *ref);
      if (!version.ok()) return Fail(version.status());
      Progress progress("exporting " + *ref);
      Status status = ExportVersion(**store, *version, *dir, progress.Fn());
      if (!status.ok()) return Fail(status);
      return kExitOk;
    };
  });
}

void AddCat(CLI::App& app, GlobalOptions& global, CommandFn& run) {
  auto ref = std::make_shared<std::string>();
  auto path = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("cat", "write one file of a version to stdout");
  cmd->add_option("version", *ref, "MODEL@VERSION")->required();
  cmd->add_option("path", *path, "path inside the version")->required();
  cmd->callback([&global, &run, ref, path] {
    run = [&global, ref, path] {
      auto store = OpenStore(global, /*writer=*/false);
      if (!store.ok()) return Fail(store.status());
      auto version = ResolveVersion(**store, *ref);
      if (!version.ok()) return Fail(version.status());
      auto tree = (*store)->Tree(*version);
      if (!tree.ok()) return Fail(tree.status());
      auto index = (*tree)->Find(*path);
      if (!index || (*tree)->entry(*index).type != EntryType::kFile) {
        return Fail(Status::NotFound("no file '" + *path + "' in " + *ref));
      }
      Status status = StreamFile(**store, (*tree)->entry(*index).digest, stdout);
      return status.ok() ? kExitOk : Fail(status);
    };
  });
}

}  // namespace re2po::cli
