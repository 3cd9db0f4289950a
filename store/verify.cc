// Re-hashes every chunk, checks that every file's chunks exist, and names
// the versions and files that a damaged chunk breaks.
#include <map>

#include "store/base/log.h"
#include "store/store_impl.h"

namespace re2po {
namespace {

using Damage = std::map<Digest, std::string>;

Result<std::vector<Digest>> AllChunkDigests(Db& db) {
  std::vector<Digest> digests;
  DbIterator it = db.NewIterator(Cf::kChunkInfo);
  for (it.SeekToFirst(); it.Valid(); it.Next()) {
    ASSIGN_OR_RETURN(Digest digest, Digest::FromView(it.key()));
    digests.push_back(digest);
  }
  RETURN_IF_ERROR(it.status("reading chunk infos"));
  return digests;
}

Status CheckChunks(StoreImpl& store, Db& db, VerifyReport& report, Damage& damage,
                   const ProgressFn& progress) {
  ASSIGN_OR_RETURN(std::vector<Digest> digests, AllChunkDigests(db));
  for (const Digest& digest : digests) {
    auto chunk = store.FetchChunk(digest, ChunkCheck::kFull);
    if (!chunk.ok() && chunk.status().code() == StatusCode::kPermissionDenied) {
      ++report.sealed_unchecked;  // sealed by a key the keyring lacks: no way to tell
    } else if (chunk.ok()) {
      ++report.chunks_checked;
      report.bytes_checked += (*chunk)->size();
    } else {
      ++report.chunks_checked;
      damage[digest] = chunk.status().message();
    }
    if (progress) progress(report.chunks_checked + report.sealed_unchecked, digests.size());
  }
  return Status::Ok();
}

// Files whose recipe is unreadable or names a chunk the store lacks.
Status CheckFiles(StoreImpl& store, const CatalogSnapshot& catalog, VerifyReport& report,
                  Damage& damage) {
  std::map<Digest, std::vector<std::string>> users;
  for (const ModelEntry& model : catalog.models()) {
    for (const VersionRecord& version : model.versions) {
      ASSIGN_OR_RETURN(auto tree, store.Tree(version));
      for (uint32_t i = 0; i < tree->size(); ++i) {
        const TreeEntry& entry = tree->entry(i);
        if (entry.type != EntryType::kFile) continue;
        ++report.files_checked;
        std::string user =
            model.name + "@" + std::to_string(version.version) + ":" + tree->PathOf(i);
        auto recipe = store.FileRecipe(entry.digest);
        if (!recipe.ok()) {
          damage[entry.digest] = "recipe: " + recipe.status().message();
          users[entry.digest].push_back(user);
          continue;
        }
        for (const Extent& extent : (*recipe)->extents) {
          auto present = store.db()->Contains(Cf::kChunkInfo, extent.chunk.view());
          if (!present.ok() || !*present)
            damage.try_emplace(extent.chunk, "missing from the store");
          if (damage.contains(extent.chunk)) users[extent.chunk].push_back(user);
        }
      }
    }
  }
  for (auto& [digest, problem] : damage) {
    report.damaged.push_back({digest, problem, users[digest]});
  }
  return Status::Ok();
}

}  // namespace

Result<VerifyReport> StoreImpl::Verify(const ProgressFn& progress) {
  VerifyReport report;
  Damage damage;
  RETURN_IF_ERROR(CheckChunks(*this, *db(), report, damage, progress));
  RETURN_IF_ERROR(CheckFiles(*this, *Catalog(), report, damage));
  for (const DamagedChunk& chunk : report.damaged) {
    Logger("verify")->error("damaged chunk {}: {} (used by {} files)", chunk.chunk.Hex(),
                            chunk.problem, chunk.users.size());
  }
  return report;
}

}  // namespace re2po
