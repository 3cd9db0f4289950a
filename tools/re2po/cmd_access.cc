// `re2po access`: who may read a model on a mount. Owners are stored as
// numbers, resolved here from names on the admin's machine, as tar and
// rsync do with --numeric-ids: nodes and containers share uids, not
// /etc/passwd.
#include <grp.h>
#include <pwd.h>

#include <charconv>
#include <iostream>

#include "tools/re2po/commands.h"

namespace re2po::cli {
namespace {

Result<uint32_t> ParseNumber(std::string_view text) {
  uint32_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    return Status::InvalidArgument("'" + std::string(text) + "' is not a number");
  }
  return value;
}

bool AllDigits(std::string_view text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

Result<uint32_t> ResolveUser(const std::string& user) {
  if (AllDigits(user)) return ParseNumber(user);
  const passwd* entry = ::getpwnam(user.c_str());
  if (entry == nullptr) return Status::NotFound("no user " + user + " on this machine");
  return static_cast<uint32_t>(entry->pw_uid);
}

Result<uint32_t> ResolveGroup(const std::string& group) {
  if (AllDigits(group)) return ParseNumber(group);
  const struct group* entry = ::getgrnam(group.c_str());
  if (entry == nullptr) return Status::NotFound("no group " + group + " on this machine");
  return static_cast<uint32_t>(entry->gr_gid);
}

Result<uint32_t> ParseMode(const std::string& text) {
  uint32_t mode = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), mode, 8);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || mode > 0777) {
    return Status::InvalidArgument("mode '" + text + "' is not octal permission bits (0 to 0777)");
  }
  return mode;
}

std::string UserName(uint32_t uid) {
  const passwd* entry = ::getpwuid(uid);
  return entry == nullptr ? std::string() : std::string(entry->pw_name);
}

std::string GroupName(uint32_t gid) {
  const struct group* entry = ::getgrgid(gid);
  return entry == nullptr ? std::string() : std::string(entry->gr_name);
}

std::string Octal(uint32_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", mode);
  return text;
}

std::string Describe(const std::optional<uint32_t>& id, const std::string& name) {
  if (!id) return "the mounting user's (default)";
  return name.empty() ? std::to_string(*id) : name + " (" + std::to_string(*id) + ")";
}

nlohmann::json AccessJson(const std::string& model, const ModelAccess& access) {
  nlohmann::json out = {{"model", model}, {"hidden", access.hidden}};
  out["uid"] = access.uid ? nlohmann::json(*access.uid) : nlohmann::json(nullptr);
  out["gid"] = access.gid ? nlohmann::json(*access.gid) : nlohmann::json(nullptr);
  out["mode"] = access.mode ? nlohmann::json(Octal(*access.mode)) : nlohmann::json(nullptr);
  return out;
}

void PrintAccess(const std::string& model, const ModelAccess& access) {
  std::cout << "model  " << model << "\n"
            << "owner  " << Describe(access.uid, access.uid ? UserName(*access.uid) : "") << "\n"
            << "group  " << Describe(access.gid, access.gid ? GroupName(*access.gid) : "") << "\n"
            << "mode   " << (access.mode ? Octal(*access.mode) : "imported bits (default)") << "\n"
            << "hidden " << (access.hidden ? "yes, from callers who may not list it" : "no")
            << std::endl;
}

void Report(const std::string& model, const ModelAccess& access, bool json) {
  if (json) {
    PrintJson(AccessJson(model, access));
  } else {
    PrintAccess(model, access);
  }
}

ModelAccess CurrentAccess(const Store& store, const std::string& model) {
  const ModelEntry* entry = store.Catalog()->FindModel(model);
  return entry == nullptr ? ModelAccess{} : entry->access;
}

}  // namespace

Status RunAccessSet(const GlobalOptions& global, const AccessSetArgs& args) {
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(global, /*writer=*/true));
  ModelAccess access = CurrentAccess(*store, args.model);
  if (!args.owner.empty()) {
    ASSIGN_OR_RETURN(access.uid, ResolveUser(args.owner));
  }
  if (!args.group.empty()) {
    ASSIGN_OR_RETURN(access.gid, ResolveGroup(args.group));
  }
  if (!args.mode.empty()) {
    ASSIGN_OR_RETURN(access.mode, ParseMode(args.mode));
  }
  if (args.hidden) access.hidden = true;
  if (args.listed) access.hidden = false;
  RETURN_IF_ERROR(store->SetModelAccess(args.model, access));
  Report(args.model, access, args.json);
  return Status::Ok();
}

Status RunAccessShow(const GlobalOptions& global, const AccessShowArgs& args) {
  RETURN_IF_ERROR(ValidateModelName(args.model));
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(global, /*writer=*/false));
  if (store->Catalog()->FindModel(args.model) == nullptr) {
    return Status::NotFound("no model " + args.model);
  }
  const ModelAccess access = CurrentAccess(*store, args.model);
  Report(args.model, access, args.json);
  return Status::Ok();
}

Status RunAccessReset(const GlobalOptions& global, const AccessShowArgs& args) {
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(global, /*writer=*/true));
  RETURN_IF_ERROR(store->SetModelAccess(args.model, ModelAccess{}));
  std::cout << "access of " << args.model << " reset: the mount's defaults" << std::endl;
  return Status::Ok();
}

void RegisterAccess(CLI::App& app, CommandFn& chosen) {
  CLI::App* access = app.add_subcommand("access", "who may read a model on a mount");
  access->require_subcommand(1);

  auto set_args = std::make_shared<AccessSetArgs>();
  CLI::App& set = AddCommand(*access, chosen, set_args, "set",
                             "change a model's owner, group, mode or hiding (a new catalog "
                             "state; fields not given keep their value)",
                             RunAccessSet);
  set.add_option("MODEL", set_args->model, "the model (it need not have a version yet)")
      ->required();
  set.add_option("--owner", set_args->owner, "user name or uid");
  set.add_option("--group", set_args->group, "group name or gid");
  set.add_option("--mode", set_args->mode,
                 "octal permission bits for /MODEL, capping every mode below it");
  CLI::Option* hidden = set.add_flag("--hidden", set_args->hidden,
                                     "leave it out of / for callers who may not list it");
  set.add_flag("--listed", set_args->listed, "show it in / to everyone (the default)")
      ->excludes(hidden);
  set.add_flag("--json", set_args->json, "print the result as JSON");

  auto show_args = std::make_shared<AccessShowArgs>();
  CLI::App& show =
      AddCommand(*access, chosen, show_args, "show", "print a model's access", RunAccessShow);
  show.add_option("MODEL", show_args->model, "the model")->required();
  show.add_flag("--json", show_args->json, "print JSON");

  auto reset_args = std::make_shared<AccessShowArgs>();
  CLI::App& reset = AddCommand(*access, chosen, reset_args, "reset",
                               "give a model the mount's defaults again", RunAccessReset);
  reset.add_option("MODEL", reset_args->model, "the model")->required();
}

}  // namespace re2po::cli
