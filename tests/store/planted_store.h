// A store in a temporary directory whose RocksDB a test can write behind
// the store's back (to plant damaged or crafted values), for the tests of
// what reads check. Not a test file itself.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "store/db/db.h"
#include "store/store.h"
#include "tests/testutil/status_testutil.h"

namespace re2po::testing {

class PlantedStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(Store::Init(dir())); }

  std::filesystem::path dir() const { return tmp_.path() / "store"; }
  Result<std::unique_ptr<Store>> Open(bool writer) {
    StoreOptions options;
    options.dir = dir();
    options.writer = writer;
    return Store::Open(options);
  }
  // Writes one value straight into the database, durably.
  Status Put(Cf family, std::string_view key, const std::string& value) {
    ASSIGN_OR_RETURN(std::unique_ptr<Db> db, Db::Open(dir() / "db", Db::Mode::kWriter));
    WriteBatch batch(*db);
    batch.Put(family, key, value);
    RETURN_IF_ERROR(db->Write(batch, /*durable=*/true));
    return db->FlushAll();
  }

  TempDir tmp_;
};

}  // namespace re2po::testing
