// Named remotes (`re2po remote add NAME URL`): a small JSON file mapping a
// name to a URL and how to reach and trust it. Credentials are never kept
// here: they come from the AWS environment and files users already have.
//
// Read from $RE2PO_REMOTES, else $XDG_CONFIG_HOME/re2po/remotes.json (or
// ~/.config/re2po/remotes.json), then /etc/re2po/remotes.json for names the
// user's file lacks; written to the first.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "store/base/status.h"

namespace re2po::cli {

struct RemoteConfig {
  std::string url;        // s3://BUCKET/PREFIX
  std::string endpoint;   // empty: the environment's
  std::string key;        // a publisher's private key, for push
  std::string trust;      // a publisher's public key, for mounts and pull
  std::string cache_dir;  // the node cache, for mounts and pull
};

using RemoteConfigs = std::map<std::string, RemoteConfig>;

std::filesystem::path UserRemotesFile();
// The user's and the system's remotes (the user's win on a name).
Result<RemoteConfigs> LoadRemotes();
// The user's file only: what `remote add` and `remote rm` change.
Result<RemoteConfigs> LoadUserRemotes();
Status SaveRemotes(const RemoteConfigs& remotes);

// A URL stands for itself; anything else is a remote's name.
Result<RemoteConfig> ResolveRemote(const std::string& name_or_url);

}  // namespace re2po::cli
