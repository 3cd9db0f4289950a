#include "store/db/meta.h"

#include <random>
#include <string>

#include "store/base/clock.h"
#include "store/base/coding.h"
#include "store/base/log.h"
#include "store/db/keys.h"

namespace re2po {

Status WriteInitialMeta(Db& db) {
  WriteBatch batch(db);
  std::string schema;
  PutFixed32(schema, kSchemaVersion);
  std::random_device random;
  std::string id;
  for (int i = 0; i < 4; ++i) PutFixed32(id, random());
  batch.Put(Cf::kMeta, keys::kSchema, schema);
  batch.Put(Cf::kMeta, keys::kStoreId, id);
  batch.Put(Cf::kMeta, keys::kCreated, Fixed64String(static_cast<uint64_t>(NowNs())));
  batch.Put(Cf::kMeta, keys::kGeneration, Fixed64String(0));
  batch.Put(Cf::kMeta, keys::kNextSeq, Fixed64String(1));
  RETURN_IF_ERROR(db.Write(batch, /*durable=*/true));
  return db.FlushAll();
}

Result<uint64_t> ReadCounter(const Db& db, std::string_view key) {
  ASSIGN_OR_RETURN(auto value, db.Get(Cf::kMeta, key));
  if (!value) return Status::Corruption("store metadata '" + std::string(key) + "' is missing");
  Decoder decoder(*value, key);
  uint64_t counter = 0;
  RETURN_IF_ERROR(decoder.GetFixed64(counter));
  return counter;
}

Result<uint32_t> ReadSchema(const Db& db, const std::filesystem::path& dir) {
  ASSIGN_OR_RETURN(auto value, db.Get(Cf::kMeta, keys::kSchema));
  if (!value || value->size() != 4) {
    return Status::Corruption(dir.string() + " has no schema version: not a re2po store");
  }
  Decoder decoder(*value, "schema");
  uint32_t schema = 0;
  RETURN_IF_ERROR(decoder.GetFixed32(schema));
  return schema;
}

Status CheckSchema(const Db& db, const std::filesystem::path& dir) {
  ASSIGN_OR_RETURN(uint32_t schema, ReadSchema(db, dir));
  if (schema > kSchemaVersion) {
    return Status::Unsupported("the store at " + dir.string() + " has schema " +
                               std::to_string(schema) + ", newer than this re2po understands (" +
                               std::to_string(kSchemaVersion) + "); upgrade re2po");
  }
  return Status::Ok();
}

Status UpgradeSchema(Db& db, const std::filesystem::path& dir) {
  ASSIGN_OR_RETURN(uint32_t schema, ReadSchema(db, dir));
  if (schema >= kSchemaVersion) return Status::Ok();
  std::string value;
  PutFixed32(value, kSchemaVersion);
  WriteBatch batch(db);
  batch.Put(Cf::kMeta, keys::kSchema, value);
  RETURN_IF_ERROR(db.Write(batch, /*durable=*/true));
  Logger("store")->info("store {}: schema {} upgraded to {}", dir.string(), schema, kSchemaVersion);
  return Status::Ok();
}

}  // namespace re2po
