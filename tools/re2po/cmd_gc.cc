#include <iostream>

#include "tools/re2po/commands.h"

namespace re2po::cli {
namespace {

void PrintGcSummary(const GcSummary& summary, bool json) {
  if (json) {
    PrintJson({{"chunks_removed", summary.chunks_removed},
               {"recipes_removed", summary.recipes_removed},
               {"bytes_removed", summary.bytes_removed},
               {"disk_bytes_before", summary.disk_bytes_before},
               {"disk_bytes_after", summary.disk_bytes_after}});
    return;
  }
  std::cout << "removed " << summary.chunks_removed << " chunks ("
            << HumanBytes(summary.bytes_removed) << ") and " << summary.recipes_removed
            << " file recipes; store on disk " << HumanBytes(summary.disk_bytes_before) << " -> "
            << HumanBytes(summary.disk_bytes_after) << std::endl;
}

}  // namespace

Status RunGc(const GlobalOptions& global, const GcArgs& args) {
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(global, /*writer=*/true));
  Progress progress("collecting garbage");
  ASSIGN_OR_RETURN(GcSummary summary, store->CollectGarbage(progress.Fn()));
  PrintGcSummary(summary, args.json);
  return Status::Ok();
}

void RegisterGc(CLI::App& app, CommandFn& chosen) {
  auto args = std::make_shared<GcArgs>();
  CLI::App& gc = AddCommand(app, chosen, args, "gc",
                            "delete chunks no version uses and compact the store", RunGc);
  gc.add_flag("--json", args->json, "print JSON");
}

}  // namespace re2po::cli
