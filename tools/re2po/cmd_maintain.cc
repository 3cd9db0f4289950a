#include <iostream>

#include "tools/re2po/cli.h"

namespace re2po::cli {

void AddRemove(CLI::App& app, GlobalOptions& global, CommandFn& run) {
  auto ref = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("rm", "remove a version (its space returns at the next gc)");
  cmd->add_option("version", *ref, "MODEL@VERSION")->required();
  cmd->callback([&global, &run, ref] {
    run = [&global, ref] {
      auto parsed = ParseVersionRef(*ref);
      if (!parsed.ok()) return Fail(parsed.status());
      if (!parsed->version) {
        return Fail(Status::InvalidArgument("rm needs MODEL@VERSION, got '" + *ref + "'"));
      }
      auto store = OpenStore(global, /*writer=*/true);
      if (!store.ok()) return Fail(store.status());
      Status status = (*store)->Remove(parsed->model, *parsed->version);
      if (!status.ok()) return Fail(status);
      std::cout << "removed " << *ref << std::endl;
      return kExitOk;
    };
  });
}

void AddGc(CLI::App& app, GlobalOptions& global, CommandFn& run) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("gc", "delete chunks no version uses and compact the store");
  cmd->add_flag("--json", *json, "print JSON");
  cmd->callback([&global, &run, json] {
    run = [&global, json] {
      auto store = OpenStore(global, /*writer=*/true);
      if (!store.ok()) return Fail(store.status());
      Progress progress("collecting garbage");
      auto summary = (*store)->CollectGarbage(progress.Fn());
      if (!summary.ok()) return Fail(summary.status());
      if (*json) {
        PrintJson({{"chunks_removed", summary->chunks_removed},
                   {"recipes_removed", summary->recipes_removed},
                   {"bytes_removed", summary->bytes_removed},
                   {"disk_bytes_before", summary->disk_bytes_before},
                   {"disk_bytes_after", summary->disk_bytes_after}});
      } else {
        std::cout << "removed " << summary->chunks_removed << " chunks ("
                  << HumanBytes(summary->bytes_removed) << ") and " << summary->recipes_removed
                  << " file recipes; store on disk " << HumanBytes(summary->disk_bytes_before)
                  << " -> " << HumanBytes(summary->disk_bytes_after) << std::endl;
      }
      return kExitOk;
    };
  });
}

void AddVerify(CLI::App& app, GlobalOptions& global, CommandFn& run) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("verify", "re-hash every chunk and report what is damaged");
  cmd->add_flag("--json", *json, "print JSON");
  cmd->callback([&global, &run, json] {
    run = [&global, json] {
      auto store = OpenStore(global, /*writer=*/false);
      if (!store.ok()) return Fail(store.status());
      Progress progress("verifying");
      auto report = (*store)->Verify(progress.Fn());
      if (!report.ok()) return Fail(report.status());
      nlohmann::json damaged = nlohmann::json::array();
      for (const DamagedChunk& chunk : report->damaged) {
        damaged.push_back(
            {{"chunk", chunk.chunk.Hex()}, {"problem", chunk.problem}, {"used_by", chunk.users}});
      }
      if (*json) {
        PrintJson({{"ok", report->ok()},
                   {"chunks_checked", report->chunks_checked},
                   {"bytes_checked", report->bytes_checked},
                   {"files_checked", report->files_checked},
                   {"damaged", damaged}});
      } else {
        std::cout << "checked " << report->chunks_checked << " chunks ("
                  << HumanBytes(report->bytes_checked) << ") and " << report->files_checked
                  << " files\n";
        for (const DamagedChunk& chunk : report->damaged) {
          std::cout << "DAMAGED chunk " << chunk.chunk.Hex() << ": " << chunk.problem << "\n";
          for (const auto& user : chunk.users) std::cout << "  breaks " << user << "\n";
        }
        std::cout << (report->ok() ? "store is intact" : "store is DAMAGED") << std::endl;
      }
      return report->ok() ? kExitOk : kExitFailure;
    };
  });
}

void AddStats(CLI::App& app, GlobalOptions& global, CommandFn& run) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("stats", "logical and stored bytes, dedup and compression");
  cmd->add_flag("--json", *json, "print JSON");
  cmd->callback([&global, &run, json] {
    run = [&global, json] {
      auto store = OpenStore(global, /*writer=*/false);
      if (!store.ok()) return Fail(store.status());
      auto stats = (*store)->Stats();
      if (!stats.ok()) return Fail(stats.status());
      auto ratio = [](uint64_t a, uint64_t b) { return b ? double(a) / double(b) : 0.0; };
      double dedup = ratio(stats->logical_bytes, stats->unique_bytes);
      double compression = ratio(stats->unique_bytes, stats->stored_bytes);
      if (*json) {
        PrintJson({{"models", stats->models},
                   {"versions", stats->versions},
                   {"logical_bytes", stats->logical_bytes},
                   {"unique_bytes", stats->unique_bytes},
                   {"stored_bytes", stats->stored_bytes},
                   {"disk_bytes", stats->disk_bytes},
                   {"chunk_count", stats->chunk_count},
                   {"dedup_ratio", dedup},
                   {"compression_ratio", compression}});
      } else {
        std::printf("models:            %llu\nversions:          %llu\n",
                    (unsigned long long)stats->models, (unsigned long long)stats->versions);
        std::printf("logical bytes:     %s\nunique bytes:      %s\nstored bytes:      %s\n",
                    HumanBytes(stats->logical_bytes).c_str(),
                    HumanBytes(stats->unique_bytes).c_str(),
                    HumanBytes(stats->stored_bytes).c_str());
        std::printf("on disk:           %s\nchunks:            %llu\n",
                    HumanBytes(stats->disk_bytes).c_str(), (unsigned long long)stats->chunk_count);
        std::printf("dedup ratio:       %.2fx\ncompression ratio: %.2fx\n", dedup, compression);
      }
      return kExitOk;
    };
  });
}

}  // namespace re2po::cli
