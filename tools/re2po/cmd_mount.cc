#include <iostream>

#include "tools/re2po/cli.h"
#ifdef RE2PO_WITH_FS
#include "fs/fuse/mount.h"
#endif

namespace re2po::cli {

void AddMount(CLI::App& app, GlobalOptions& global, CommandFn& run) {
  struct Args {
    std::string mountpoint;
    std::vector<std::string> options;
    bool foreground = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("mount", "mount the store read-only (see mount.re2po(8))");
  cmd->add_option("mountpoint", args->mountpoint, "an existing directory")->required();
  cmd->add_option("-o", args->options, "comma-separated mount options (cache_size=, allow_other)");
  cmd->add_flag("--foreground,-f", args->foreground, "stay in the foreground");
  cmd->callback([&global, &run, args] {
    run = [&global, args]() -> int {
#ifdef RE2PO_WITH_FS
      fs::MountOptions base;
      base.store_dir = StoreDir(global);
      base.mountpoint = args->mountpoint;
      base.foreground = args->foreground;
      base.log_level = global.log_level == "warn" ? "info" : global.log_level;
      std::string joined;
      for (const auto& option : args->options) joined += (joined.empty() ? "" : ",") + option;
      auto options = fs::ParseMountOptions(joined, base);
      if (!options.ok()) return Fail(options.status());
      return fs::RunMount(*options);
#else
      (void)global;
      return Fail(Status::Unsupported("this re2po was built without FUSE support"));
#endif
    };
  });
}

}  // namespace re2po::cli
