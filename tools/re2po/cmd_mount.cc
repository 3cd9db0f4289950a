#include "tools/re2po/commands.h"
#include "tools/re2po/remotes.h"
#ifdef RE2PO_WITH_FS
#include "fs/fuse/mount.h"
#endif

namespace re2po::cli {
#ifdef RE2PO_WITH_FS
namespace {

std::string JoinOptions(const std::vector<std::string>& options) {
  std::string joined;
  for (const std::string& option : options) joined += (joined.empty() ? "" : ",") + option;
  return joined;
}

}  // namespace
#endif

Status RunMount(const GlobalOptions& global, const MountArgs& args) {
#ifdef RE2PO_WITH_FS
  fs::MountOptions base;
  base.store_dir = StoreDir(global);
  if (!args.remote.empty()) {
    // A named remote's settings come first; -o and the flags override them.
    ASSIGN_OR_RETURN(RemoteConfig remote, ResolveRemote(args.remote));
    base.remote.url = remote.url;
    base.remote.endpoint = args.node.endpoint.empty() ? remote.endpoint : args.node.endpoint;
    base.remote.trust = args.node.trust.empty() ? remote.trust : args.node.trust;
    base.remote.cache_dir = args.node.cache_dir.empty() ? remote.cache_dir : args.node.cache_dir;
  }
  base.mountpoint = args.mountpoint;
  if (const std::string keyring = KeyringPath(global); !keyring.empty()) {
    base.keyring = std::filesystem::absolute(keyring);
  }
  base.foreground = args.foreground;
  // A mount is a daemon: it says what it serves unless told otherwise.
  base.log_level = LogLevelOr(global, "info");
  ASSIGN_OR_RETURN(fs::MountOptions options,
                   fs::ParseMountOptions(JoinOptions(args.options), base));
  // The mount prints its own errors ("re2po: error: ...").
  return fs::RunMount(options) == 0 ? Status::Ok() : AlreadyReported();
#else
  (void)global;
  (void)args;
  return Status::Unsupported("this re2po was built without FUSE support");
#endif
}

void RegisterMount(CLI::App& app, CommandFn& chosen) {
  auto args = std::make_shared<MountArgs>();
  CLI::App& mount = AddCommand(app, chosen, args, "mount",
                               "mount the store read-only (see mount.re2po(8))", RunMount);
  mount.add_option("MOUNTPOINT", args->mountpoint, "an existing directory")->required();
  mount
      .add_option(
          "--remote", args->remote,
          "mount a remote (a name, s3://BUCKET/PREFIX or oci://HOST/REPO) instead of the store")
      ->option_text("REMOTE");
  AddNodeOptions(mount, args->node);
  // One list per -o: the word after it is an argument, never more options.
  mount
      .add_option("-o", args->options,
                  "comma-separated mount options (cache_size=, allow_other); repeatable")
      ->option_text("OPTIONS")
      ->allow_extra_args(false);
  mount.add_flag("-f,--foreground", args->foreground, "stay in the foreground");
}

}  // namespace re2po::cli
