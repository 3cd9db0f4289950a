#include <iostream>

#include "store/fleet/open_remote.h"
#include "store/fleet/pusher.h"
#include "tools/re2po/commands.h"
#include "tools/re2po/remotes.h"

namespace re2po::cli {
namespace {

void PrintPushSummary(const std::string& url, const PushSummary& summary, bool json) {
  if (json) {
    PrintJson({{"remote", url},
               {"pushed", summary.pushed},
               {"already_there", summary.already_there},
               {"access_pushed", summary.access_pushed},
               {"chunks_uploaded", summary.chunks_uploaded},
               {"packs_uploaded", summary.packs_uploaded},
               {"packs_already_there", summary.packs_already_there},
               {"bytes_uploaded", summary.bytes_uploaded},
               {"log_record", summary.log_record},
               {"head_generation", summary.head_generation}});
    return;
  }
  for (const std::string& name : summary.pushed) std::cout << "pushed " << name << "\n";
  for (const std::string& name : summary.already_there) {
    std::cout << "already on the remote: " << name << "\n";
  }
  for (const std::string& model : summary.access_pushed) {
    std::cout << "access of " << model << " pushed\n";
  }
  std::cout << url << ": " << summary.chunks_uploaded << " new chunks in " << summary.packs_uploaded
            << " packs, " << HumanBytes(summary.bytes_uploaded) << " uploaded";
  if (summary.packs_already_there > 0) {
    std::cout << " (" << summary.packs_already_there << " packs were there from an earlier try)";
  }
  if (summary.head_generation > 0) std::cout << "; catalog generation " << summary.head_generation;
  std::cout << std::endl;
}

Result<std::optional<SigningKey>> PushKey(const PushArgs& args, const RemoteConfig& remote) {
  const std::string path = args.key.empty() ? remote.key : args.key;
  if (path.empty()) {
    std::cerr << "re2po: warning: pushing an unsigned catalog: nodes that trust a key will "
                 "refuse it (--key PATH, or re2po remote add --key)\n";
    return std::optional<SigningKey>();
  }
  ASSIGN_OR_RETURN(SigningKey key, SigningKey::Load(path));
  return std::optional<SigningKey>(std::move(key));
}

}  // namespace

Status RunPush(const GlobalOptions& global, const PushArgs& args) {
  ASSIGN_OR_RETURN(RemoteConfig remote, ResolveRemote(args.remote));
  ASSIGN_OR_RETURN(std::optional<SigningKey> key, PushKey(args, remote));
  PushOptions options;
  for (const std::string& ref : args.refs) {
    ASSIGN_OR_RETURN(VersionRef parsed, ParseVersionRef(ref));
    options.refs.push_back(parsed);
  }
  options.key = key ? &*key : nullptr;
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(global, /*writer=*/false));
  RemoteSpec spec;
  spec.url = remote.url;
  spec.endpoint = args.endpoint.empty() ? remote.endpoint : args.endpoint;
  spec.create_container = true;
  ASSIGN_OR_RETURN(std::unique_ptr<ObjectStore> objects, OpenRemote(spec));
  Progress progress("pushing to " + remote.url);
  options.progress = progress.Fn();
  ASSIGN_OR_RETURN(PushSummary summary, Push(*store, *objects, options));
  PrintPushSummary(remote.url, summary, args.json);
  return Status::Ok();
}

void RegisterPush(CLI::App& app, CommandFn& chosen) {
  auto args = std::make_shared<PushArgs>();
  CLI::App& push =
      AddCommand(app, chosen, args, "push",
                 "upload versions to a remote, only what it lacks, and sign its catalog", RunPush);
  push.add_option("REMOTE", args->remote,
                  "a remote's name or URL (s3://BUCKET/PREFIX, oci://HOST/REPOSITORY)")
      ->required();
  push.add_option("MODEL[@VERSION]", args->refs, "what to push (default: every version)");
  push.add_option("--key", args->key, "the private key to sign with")->option_text("PATH");
  push.add_option("--endpoint", args->endpoint, "the S3 endpoint (else AWS_ENDPOINT_URL)")
      ->option_text("URL");
  push.add_flag("--json", args->json, "print JSON");
}

}  // namespace re2po::cli
