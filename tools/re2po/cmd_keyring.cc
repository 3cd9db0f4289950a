// re2po keyring: the files that hold the keys of protected models. A secret
// is written only to keyring files (mode 0600), never printed or logged.
#include <iostream>

#include "store/base/clock.h"
#include "store/crypto/keyring.h"
#include "tools/re2po/commands.h"

namespace re2po::cli {

Status RunKeyringCreate(const GlobalOptions& /*global*/, const KeyringCreateArgs& args) {
  RETURN_IF_ERROR(Keyring::Create(args.path));
  std::cout << "created keyring " << args.path << " (mode 0600, no keys yet)" << std::endl;
  return Status::Ok();
}

Status RunKeyringAdd(const GlobalOptions& /*global*/, const KeyringAddArgs& args) {
  RETURN_IF_ERROR(ValidateKeyName(args.name));
  ASSIGN_OR_RETURN(Keyring keyring, Keyring::Load(args.path));
  ASSIGN_OR_RETURN(SealingKey key, SealingKey::Generate(args.name));
  const std::string id = key.IdHex();
  RETURN_IF_ERROR(keyring.Add(std::move(key)));
  RETURN_IF_ERROR(keyring.Save(args.path));
  std::cout << "added key " << args.name << " (id " << id << ") to " << args.path
            << "; losing it loses every version it protects: keep a copy (keyring export)"
            << std::endl;
  return Status::Ok();
}

Status RunKeyringList(const GlobalOptions& /*global*/, const KeyringListArgs& args) {
  ASSIGN_OR_RETURN(Keyring keyring, Keyring::Load(args.path));
  nlohmann::json keys = nlohmann::json::array();
  for (const SealingKey& key : keyring.keys()) {
    if (args.json) {
      keys.push_back({{"name", key.name()}, {"id", key.IdHex()}, {"created_ns", key.created_ns()}});
    } else {
      std::cout << key.name() << "\t" << key.IdHex() << "\t" << FormatTime(key.created_ns())
                << "\n";
    }
  }
  if (args.json) PrintJson(keys);
  std::cout << std::flush;
  return Status::Ok();
}

Status RunKeyringExport(const GlobalOptions& /*global*/, const KeyringExportArgs& args) {
  ASSIGN_OR_RETURN(Keyring keyring, Keyring::Load(args.path));
  Keyring exported;
  for (const std::string& name : args.names) {
    ASSIGN_OR_RETURN(const SealingKey* key, keyring.Find(name));
    RETURN_IF_ERROR(exported.Add(*key));
  }
  RETURN_IF_ERROR(Keyring::Create(args.out));
  RETURN_IF_ERROR(exported.Save(args.out));
  std::cout << "wrote " << args.names.size() << " key(s) to " << args.out
            << " (mode 0600): give it only to the nodes that may read those models" << std::endl;
  return Status::Ok();
}

void RegisterKeyring(CLI::App& app, CommandFn& chosen) {
  CLI::App* keyring =
      app.add_subcommand("keyring", "the keys of protected models (import --protect)");
  keyring->require_subcommand(1);
  auto create = std::make_shared<KeyringCreateArgs>();
  AddCommand(*keyring, chosen, create, "create", "write an empty keyring (mode 0600)",
             RunKeyringCreate)
      .add_option("FILE", create->path, "the keyring to create")
      ->required();
  auto add = std::make_shared<KeyringAddArgs>();
  CLI::App& add_command = AddCommand(*keyring, chosen, add, "add",
                                     "generate a new AES-256 key in the keyring", RunKeyringAdd);
  add_command.add_option("FILE", add->path, "the keyring")->required();
  add_command.add_option("NAME", add->name, "the key's name, as import --protect takes it")
      ->required();
  auto list = std::make_shared<KeyringListArgs>();
  CLI::App& list_command =
      AddCommand(*keyring, chosen, list, "list",
                 "the keys' names, ids and creation times (never secrets)", RunKeyringList);
  list_command.add_option("FILE", list->path, "the keyring")->required();
  list_command.add_flag("--json", list->json, "print as JSON");
  auto out = std::make_shared<KeyringExportArgs>();
  CLI::App& export_command = AddCommand(
      *keyring, chosen, out, "export",
      "copy some keys into a new keyring file, for the nodes that may read them", RunKeyringExport);
  export_command.add_option("FILE", out->path, "the keyring")->required();
  export_command.add_option("NAME", out->names, "the keys to copy")->required();
  export_command.add_option("-o,--out", out->out, "the new keyring (created, mode 0600)")
      ->required()
      ->type_name("FILE");
}

}  // namespace re2po::cli
