// `re2po sign MODEL@VERSION --key K`: an ed25519 signature over the
// version's id and metadata, kept beside it; `re2po verify MODEL@VERSION
// --trust K.pub` checks it (cmd_verify.cc).
#include <iostream>

#include "store/base/clock.h"
#include "store/crypto/ed25519.h"
#include "tools/re2po/commands.h"

namespace re2po::cli {

Status RunSign(const GlobalOptions& global, const SignArgs& args) {
  ASSIGN_OR_RETURN(SigningKey key, SigningKey::Load(args.key));
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(global, /*writer=*/true));
  ASSIGN_OR_RETURN(VersionRecord version, ResolveVersion(*store, args.ref));
  VersionSignature signature;
  signature.public_key = key.public_key().raw();
  ASSIGN_OR_RETURN(signature.signature, key.Sign(VersionSigningMessage(version)));
  signature.signed_ns = NowNs();
  RETURN_IF_ERROR(store->PutSignature(version, signature));
  std::cout << "signed " << version.model << "@" << version.version << " ("
            << VersionId(version.digest) << ") with key " << key.public_key().Id() << std::endl;
  return Status::Ok();
}

void RegisterSign(CLI::App& app, CommandFn& chosen) {
  auto args = std::make_shared<SignArgs>();
  CLI::App& sign = AddCommand(app, chosen, args, "sign",
                              "sign a version's id and metadata with an ed25519 key", RunSign);
  sign.add_option("MODEL[@VERSION]", args->ref, "the version (default: the model's latest)")
      ->required();
  sign.add_option("--key", args->key, "the private key (re2po key generate)")->required();
}

}  // namespace re2po::cli
