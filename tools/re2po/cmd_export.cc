#include "tools/re2po/commands.h"
#include "tools/re2po/exporter.h"

namespace re2po::cli {

Status RunExport(const GlobalOptions& global, const ExportArgs& args) {
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(global, /*writer=*/false));
  ASSIGN_OR_RETURN(VersionRecord version, ResolveVersion(*store, args.ref));
  Progress progress("exporting " + args.ref);
  return ExportVersion(*store, version, args.dir, progress.Fn());
}

void RegisterExport(CLI::App& app, CommandFn& chosen) {
  auto args = std::make_shared<ExportArgs>();
  CLI::App& export_command =
      AddCommand(app, chosen, args, "export", "write a version's files to a directory", RunExport);
  export_command.add_option("MODEL@VERSION", args->ref, "the version")->required();
  export_command.add_option("DIR", args->dir, "destination (must not exist or be empty)")
      ->required();
}

}  // namespace re2po::cli
