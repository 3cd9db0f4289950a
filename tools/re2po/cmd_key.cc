#include <iostream>

#include "store/crypto/ed25519.h"
#include "tools/re2po/commands.h"

namespace re2po::cli {

Status RunKeyGenerate(const GlobalOptions& /*global*/, const KeyGenerateArgs& args) {
  ASSIGN_OR_RETURN(SigningKey key, SigningKey::Generate());
  RETURN_IF_ERROR(key.Save(args.path));
  std::cout << "ed25519 key " << key.public_key().Id() << ": private " << args.path
            << " (keep it secret), public " << args.path << ".pub (give it to the nodes)"
            << std::endl;
  return Status::Ok();
}

void RegisterKey(CLI::App& app, CommandFn& chosen) {
  CLI::App* key = app.add_subcommand("key", "make the keys that sign and verify catalogs");
  key->require_subcommand(1);
  auto args = std::make_shared<KeyGenerateArgs>();
  CLI::App& generate =
      AddCommand(*key, chosen, args, "generate", "write a new ed25519 key pair: PATH and PATH.pub",
                 RunKeyGenerate);
  generate.add_option("PATH", args->path, "the private key file (created, mode 0600)")->required();
}

}  // namespace re2po::cli
