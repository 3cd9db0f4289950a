#include <iostream>

#include "store/remote/oci_location.h"
#include "tools/re2po/commands.h"
#include "tools/re2po/remotes.h"

namespace re2po::cli {

Status RunRemoteAdd(const GlobalOptions& /*global*/, const RemoteAddArgs& args) {
  if (!args.url.starts_with("s3://") && !IsOciUrl(args.url)) {
    return Status::InvalidArgument("'" + args.url +
                                   "' is not a remote URL (s3://BUCKET/PREFIX, oci://HOST/REPO)");
  }
  if (args.name.empty() || args.name.find("://") != std::string::npos ||
      args.name.find('/') != std::string::npos) {
    return Status::InvalidArgument("'" + args.name + "' cannot name a remote");
  }
  ASSIGN_OR_RETURN(RemoteConfigs remotes, LoadUserRemotes());
  if (remotes.contains(args.name) && !args.replace) {
    return Status::AlreadyExists("remote '" + args.name + "' exists (--replace to change it)");
  }
  remotes[args.name] = args.config;
  remotes[args.name].url = args.url;
  RETURN_IF_ERROR(SaveRemotes(remotes));
  std::cout << "remote " << args.name << " -> " << args.url << " (in " << UserRemotesFile().string()
            << ")" << std::endl;
  return Status::Ok();
}

Status RunRemoteList(const GlobalOptions& /*global*/, const RemoteListArgs& args) {
  ASSIGN_OR_RETURN(RemoteConfigs remotes, LoadRemotes());
  if (args.json) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [name, config] : remotes) {
      out[name] = {{"url", config.url},
                   {"endpoint", config.endpoint},
                   {"key", config.key},
                   {"trust", config.trust},
                   {"cache_dir", config.cache_dir}};
    }
    PrintJson(out);
    return Status::Ok();
  }
  for (const auto& [name, config] : remotes) {
    std::cout << name << "\t" << config.url;
    if (!config.endpoint.empty()) std::cout << "\tendpoint=" << config.endpoint;
    if (!config.key.empty()) std::cout << "\tkey=" << config.key;
    if (!config.trust.empty()) std::cout << "\ttrust=" << config.trust;
    std::cout << "\n";
  }
  return Status::Ok();
}

Status RunRemoteRemove(const GlobalOptions& /*global*/, const RemoteRemoveArgs& args) {
  ASSIGN_OR_RETURN(RemoteConfigs remotes, LoadUserRemotes());
  if (remotes.erase(args.name) == 0) {
    return Status::NotFound("no remote named '" + args.name + "' in " + UserRemotesFile().string());
  }
  return SaveRemotes(remotes);
}

void RegisterRemote(CLI::App& app, CommandFn& chosen) {
  CLI::App* remote = app.add_subcommand("remote", "name the remotes you push to and mount");
  remote->require_subcommand(1);
  auto add_args = std::make_shared<RemoteAddArgs>();
  CLI::App& add = AddCommand(*remote, chosen, add_args, "add", "name a remote", RunRemoteAdd);
  add.add_option("NAME", add_args->name, "the name")->required();
  add.add_option("URL", add_args->url, "s3://BUCKET/PREFIX or oci://HOST/REPOSITORY")->required();
  add.add_option("--endpoint", add_args->config.endpoint, "the S3 endpoint (else AWS_ENDPOINT_URL)")
      ->option_text("URL");
  add.add_option("--key", add_args->config.key, "the private key push signs with")
      ->option_text("PATH");
  add.add_option("--trust", add_args->config.trust, "the public key nodes verify against")
      ->option_text("PATH");
  add.add_option("--cache-dir", add_args->config.cache_dir, "the node cache of mounts and pulls")
      ->option_text("DIR");
  add.add_flag("--replace", add_args->replace, "replace a remote of that name");
  auto list_args = std::make_shared<RemoteListArgs>();
  CLI::App& list =
      AddCommand(*remote, chosen, list_args, "ls", "list the named remotes", RunRemoteList);
  list.add_flag("--json", list_args->json, "print JSON");
  auto remove_args = std::make_shared<RemoteRemoveArgs>();
  CLI::App& remove =
      AddCommand(*remote, chosen, remove_args, "rm", "forget a remote's name", RunRemoteRemove);
  remove.add_option("NAME", remove_args->name, "the name")->required();
}

}  // namespace re2po::cli
