// re2po: the admin command line of a Re2po model store (man re2po).
#include <iostream>

#include "store/base/allocator_tuning.h"
#include "store/base/log.h"
#include "tools/re2po/cli.h"

namespace {

int Run(int argc, char** argv) {
  using namespace re2po::cli;
  CLI::App app{"re2po: a deduplicating model repository", "re2po"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "re2po 0.1.0");
  GlobalOptions global;
  app.add_option(
      "--store", global.store,
      "store directory (default: $RE2PO_STORE, else " + DefaultStoreDir().string() + ")");
  app.add_option("--log-level", global.log_level, "trace, debug, info, warn, error or off");
  app.add_option("--lock-timeout", global.lock_timeout_seconds,
                 "seconds a writer waits for another writer");
  CommandFn run;
  AddInit(app, global, run);
  AddImport(app, global, run);
  AddList(app, global, run);
  AddShow(app, global, run);
  AddExport(app, global, run);
  AddCat(app, global, run);
  AddRemove(app, global, run);
  AddGc(app, global, run);
  AddVerify(app, global, run);
  AddStats(app, global, run);
  AddDiff(app, global, run);
  AddMount(app, global, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  re2po::SetLogLevel(global.log_level);
  return run ? run() : kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  re2po::KeepChunkSizedBlocksInTheHeap();
  try {
    return Run(argc, argv);
  } catch (const std::bad_alloc&) {
    std::cerr << "re2po: out of memory" << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "re2po: " << e.what() << std::endl;
  }
  return re2po::cli::kExitFailure;
}
