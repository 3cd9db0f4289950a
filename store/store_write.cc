// The writer's changes to the catalog: importing a version, removing one.
// gc.cc holds the third, collecting garbage.
#include "store/base/coding.h"
#include "store/base/log.h"
#include "store/db/keys.h"
#include "store/db/meta.h"
#include "store/import/importer.h"
#include "store/store_impl.h"

namespace re2po {

Result<ImportSummary> StoreImpl::Import(const ImportRequest& request) {
  RETURN_IF_ERROR(RequireWriter());
  const std::shared_ptr<Db> database = db();
  const ImportTarget target{*database, dir_,
                            [this](const Digest& chunk) { return ReadChunk(chunk); }};
  ASSIGN_OR_RETURN(ImportSummary summary, ImportVersion(target, *Catalog(), request));
  RETURN_IF_ERROR(ReloadCatalog());
  return summary;
}

Status StoreImpl::Remove(const std::string& model, uint64_t version) {
  RETURN_IF_ERROR(RequireWriter());
  auto catalog = Catalog();
  const ModelEntry* entry = catalog->FindModel(model);
  if (!entry || !entry->Find(version)) {
    return Status::NotFound("no version " + model + "@" + std::to_string(version));
  }
  const std::shared_ptr<Db> database = db();
  ASSIGN_OR_RETURN(uint64_t generation, ReadCounter(*database, keys::kGeneration));
  WriteBatch batch(*database);
  batch.Delete(Cf::kCatalog, keys::Version(model, version));
  batch.Delete(Cf::kCatalog, keys::Tree(model, version));
  if (entry->versions.size() == 1) batch.Delete(Cf::kCatalog, keys::Model(model));
  batch.Put(Cf::kMeta, keys::kGeneration, Fixed64String(generation + 1));
  RETURN_IF_ERROR(database->Write(batch, /*durable=*/true));
  RETURN_IF_ERROR(database->FlushAll());
  Logger("store")->info("removed {}@{}", model, version);
  return ReloadCatalog();
}

}  // namespace re2po
