#include <iostream>

#include "tools/re2po/commands.h"

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
             {"damaged", damaged}});
}

void PrintReportText(const VerifyReport& report) {
  std::cout << "checked " << report.chunks_checked << " chunks ("
            << HumanBytes(report.bytes_checked) << ") and " << report.files_checked << " files\n";
  for (const DamagedChunk& chunk : report.damaged) {
    std::cout << "DAMAGED chunk " << chunk.chunk.Hex() << ": " << chunk.problem << "\n";
    for (const auto& user : chunk.users) std::cout << "  breaks " << user << "\n";
  }
  std::cout << (report.ok() ? "store is intact" : "store is DAMAGED") << std::endl;
}

}  // namespace

Status RunVerify(const GlobalOptions& global, const VerifyArgs& args) {
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
  CLI::App& verify = AddCommand(app, chosen, args, "verify",
                                "re-hash every chunk and report what is damaged", RunVerify);
  verify.add_flag("--json", args->json, "print JSON");
}

}  // namespace re2po::cli
