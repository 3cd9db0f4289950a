#include <iostream>

#include "store/crypto/ed25519.h"
#include "tools/re2po/commands.h"
#include "tools/re2po/provenance_view.h"

namespace re2po::cli {
namespace {

void PrintReportJson(const VerifyReport& report) {
  nlohmann::json damaged = nlohmann::json::array();
  for (const DamagedChunk& chunk : report.damaged) {
    damaged.push_back(
        {{"chunk", chunk.chunk.Hex()}, {"problem", chunk.problem}, {"used_by", chunk.users}});
  }
  PrintJson({{"ok", report.ok()},
             {"chunks_checked", report.chunks_checked},
             {"bytes_checked", report.bytes_checked},
             {"files_checked", report.files_checked},
             {"sealed_unchecked", report.sealed_unchecked},
             {"damaged", damaged}});
}

void PrintReportText(const VerifyReport& report) {
  std::cout << "checked " << report.chunks_checked << " chunks ("
            << HumanBytes(report.bytes_checked) << ") and " << report.files_checked << " files\n";
  if (report.sealed_unchecked > 0) {
    std::cout << "not checked: " << report.sealed_unchecked
              << " chunks of protected models, whose keys are not in the keyring (--keyring)\n";
  }
  for (const DamagedChunk& chunk : report.damaged) {
    std::cout << "DAMAGED chunk " << chunk.chunk.Hex() << ": " << chunk.problem << "\n";
    for (const auto& user : chunk.users) std::cout << "  breaks " << user << "\n";
  }
  std::cout << (report.ok() ? "store is intact" : "store is DAMAGED") << std::endl;
}

Status VerifySignature(const GlobalOptions& global, const VerifyArgs& args) {
  if (args.trust.empty()) {
    return Status::InvalidArgument("verify " + args.ref + " needs --trust KEY.pub");
  }
  ASSIGN_OR_RETURN(PublicKey trusted, PublicKey::Load(args.trust));
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(global, /*writer=*/false));
  ASSIGN_OR_RETURN(VersionRecord version, ResolveVersion(*store, args.ref));
  RETURN_IF_ERROR(CheckSignature(*store, version, trusted));
  std::cout << version.model << "@" << version.version << " (" << VersionId(version.digest)
            << ") is signed by trusted key " << trusted.Id() << std::endl;
  return Status::Ok();
}

}  // namespace

Status RunVerify(const GlobalOptions& global, const VerifyArgs& args) {
  if (!args.ref.empty()) return VerifySignature(global, args);
  if (!args.trust.empty()) return Status::InvalidArgument("--trust needs MODEL@VERSION");
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(global, /*writer=*/false));
  Progress progress("verifying");
  ASSIGN_OR_RETURN(VerifyReport report, store->Verify(progress.Fn()));
  if (args.json) {
    PrintReportJson(report);
  } else {
    PrintReportText(report);
  }
  return report.ok() ? Status::Ok() : AlreadyReported();
}

void RegisterVerify(CLI::App& app, CommandFn& chosen) {
  auto args = std::make_shared<VerifyArgs>();
  CLI::App& verify = AddCommand(
      app, chosen, args, "verify",
      "re-hash every chunk and report what is damaged; with MODEL@VERSION, check its signature",
      RunVerify);
  verify.add_option("MODEL[@VERSION]", args->ref, "check this version's signature instead");
  verify.add_option("--trust", args->trust, "the public key the version must be signed with");
  verify.add_flag("--json", args->json, "print JSON");
}

}  // namespace re2po::cli
