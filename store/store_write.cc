// The writer's changes to the catalog: importing a version, removing one.
// gc.cc holds the third, collecting garbage.
#include "store/base/clock.h"
#include "store/base/coding.h"
#include "store/base/log.h"
#include "store/base/names.h"
#include "store/db/keys.h"
#include "store/db/meta.h"
#include "store/import/importer.h"
#include "store/store_impl.h"

namespace re2po {
namespace {

// Writes `batch` as the next catalog generation, durably, so readers that
// compare generations reopen and see it.
Status CommitCatalogChange(Db& database, WriteBatch& batch) {
  ASSIGN_OR_RETURN(uint64_t generation, ReadCounter(database, keys::kGeneration));
  batch.Put(Cf::kMeta, keys::kGeneration, Fixed64String(generation + 1));
  RETURN_IF_ERROR(database.Write(batch, /*durable=*/true));
  return database.FlushAll();
}

}  // namespace

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
  WriteBatch batch(*database);
  batch.Delete(Cf::kCatalog, keys::Version(model, version));
  batch.Delete(Cf::kCatalog, keys::Tree(model, version));
  batch.Delete(Cf::kCatalog, keys::Signature(model, version));
  // A model's access outlives its versions, so the next import of it is as
  // protected as the last one was.
  if (entry->versions.size() == 1 && entry->access.IsDefault()) {
    batch.Delete(Cf::kCatalog, keys::Model(model));
  }
  RETURN_IF_ERROR(CommitCatalogChange(*database, batch));
  Logger("store")->info("removed {}@{}", model, version);
  return ReloadCatalog();
}

Status StoreImpl::PutSignature(const VersionRecord& version, const VersionSignature& signature) {
  RETURN_IF_ERROR(RequireWriter());
  const VersionRecord* current = Catalog()->FindVersion(version.model, version.version);
  if (current == nullptr || current->seq != version.seq) {
    return Status::NotFound("no version " + version.model + "@" + std::to_string(version.version));
  }
  const std::shared_ptr<Db> database = db();
  WriteBatch batch(*database);
  batch.Put(Cf::kCatalog, keys::Signature(version.model, version.version), signature.Encode());
  // A new generation though the version is unchanged: mounts then show it.
  RETURN_IF_ERROR(CommitCatalogChange(*database, batch));
  return ReloadCatalog();
}

Status StoreImpl::SetModelAccess(const std::string& model, const ModelAccess& access) {
  RETURN_IF_ERROR(RequireWriter());
  RETURN_IF_ERROR(ValidateModelName(model));
  if (access.mode && (*access.mode & ~0777u) != 0) {
    return Status::InvalidArgument("a model's mode is permission bits, at most 0777");
  }
  const std::shared_ptr<Db> database = db();
  ASSIGN_OR_RETURN(std::optional<std::string> old_value,
                   database->Get(Cf::kCatalog, keys::Model(model)));
  WriteBatch batch(*database);
  std::string value;
  if (old_value) {
    // Keep id and created time; the access block is always last.
    Decoder decoder(*old_value, "model");
    uint64_t id = 0;
    uint64_t created_ns = 0;
    RETURN_IF_ERROR(decoder.GetVarint(id));
    RETURN_IF_ERROR(decoder.GetVarint(created_ns));
    PutVarint(value, id);
    PutVarint(value, created_ns);
  } else {
    // Set before the first import: the model is protected from its first version.
    ASSIGN_OR_RETURN(uint64_t next_seq, ReadCounter(*database, keys::kNextSeq));
    PutVarint(value, next_seq);
    PutVarint(value, static_cast<uint64_t>(NowNs()));
    batch.Put(Cf::kMeta, keys::kNextSeq, Fixed64String(next_seq + 1));
  }
  const ModelEntry* entry = Catalog()->FindModel(model);
  const bool drop = access.IsDefault() && (entry == nullptr || entry->versions.empty());
  if (drop) {
    batch.Delete(Cf::kCatalog, keys::Model(model));
  } else {
    if (!access.IsDefault()) access.EncodeTo(value);
    batch.Put(Cf::kCatalog, keys::Model(model), value);
  }
  RETURN_IF_ERROR(CommitCatalogChange(*database, batch));
  Logger("store")->info("access of {} set", model);
  return ReloadCatalog();
}

}  // namespace re2po
