// re2po: the admin command line of a Re2po model store (man re2po).
#include <iostream>

#include "store/base/allocator_tuning.h"
#include "store/base/build_info.h"
#include "store/base/log.h"
#include "tools/re2po/commands.h"

namespace re2po::cli {
namespace {

void RegisterCommands(CLI::App& app, CommandFn& chosen) {
  RegisterInit(app, chosen);
  RegisterImport(app, chosen);
  RegisterList(app, chosen);
  RegisterShow(app, chosen);
  RegisterLog(app, chosen);
  RegisterExport(app, chosen);
  RegisterCat(app, chosen);
  RegisterRemove(app, chosen);
  RegisterGc(app, chosen);
  RegisterVerify(app, chosen);
  RegisterSign(app, chosen);
  RegisterStats(app, chosen);
  RegisterDiff(app, chosen);
  RegisterMount(app, chosen);
  RegisterKey(app, chosen);
  RegisterKeyring(app, chosen);
  RegisterRemote(app, chosen);
  RegisterPush(app, chosen);
  RegisterPull(app, chosen);
  RegisterCache(app, chosen);
  RegisterAccess(app, chosen);
  RegisterAccessLog(app, chosen);
  RegisterTop(app, chosen);
}

// Positionals are named for what they hold (MODEL@VERSION, PATH), so their
// type would only repeat it, and the usage line shows which are optional.
class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option_opts(const CLI::Option* option) const override {
    return option->get_positional() ? "" : CLI::Formatter::make_option_opts(option);
  }
};

// Usage errors carry the same prefix as every other error.
std::string UsageError(const CLI::App* /*app*/, const CLI::Error& error) {
  return std::string(kErrorPrefix) + error.what() + "\nRun with --help for more information.\n";
}

int Run(int argc, char** argv) {
  CLI::App app{"re2po: a deduplicating model repository", "re2po"};
  app.require_subcommand(1);
  app.set_version_flag("--version", ToolVersion());
  app.failure_message(UsageError);
  app.formatter(std::make_shared<HelpFormatter>());  // the commands added below inherit it
  CommandFn chosen;
  RegisterCommands(app, chosen);
  // Global options are declared on every command too, so that they may
  // follow its name (`re2po ls --store DIR`) and its --help lists them.
  GlobalOptions global;
  AddGlobalOptions(app, global);
  for (CLI::App* command : app.get_subcommands([](CLI::App*) { return true; })) {
    AddGlobalOptions(*command, global);
  }
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
  SetLogLevel(LogLevelOr(global, "warn"));
  if (!chosen) return kExitUsage;
  return ExitStatus(chosen(global));
}

}  // namespace
}  // namespace re2po::cli

int main(int argc, char** argv) {
  re2po::KeepChunkSizedBlocksInTheHeap();
  try {
    return re2po::cli::Run(argc, argv);
  } catch (const std::bad_alloc&) {
    re2po::cli::PrintError("out of memory");
  } catch (const std::exception& e) {
    re2po::cli::PrintError(e.what());
  }
  return re2po::cli::kExitFailure;
}
