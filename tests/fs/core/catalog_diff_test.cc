// The catalog diff that drives kernel invalidations.
#include "fs/core/catalog_diff.h"

#include "tests/testutil/testutil.h"

namespace re2po::fs {
namespace {

VersionRecord Record(const std::string& model, uint64_t version, uint64_t seq) {
  VersionRecord record;
  record.model = model;
  record.version = version;
  record.seq = seq;
  return record;
}

ModelEntry Model(const std::string& name, uint64_t id, std::vector<VersionRecord> versions) {
  ModelEntry model;
  model.name = name;
  model.id = id;
  model.versions = std::move(versions);
  return model;
}

TEST(CatalogDiffTest, NothingChangedNothingToForget) {
  InodeNumbers numbers;
  CatalogSnapshot a(1, {Model("m", 1, {Record("m", 1, 10)})});
  CatalogSnapshot b(2, {Model("m", 1, {Record("m", 1, 10)})});
  EXPECT_TRUE(DiffCatalogs(a, b, numbers).empty());
}

TEST(CatalogDiffTest, NewVersionInvalidatesItsNameLatestAndTheListings) {
  InodeNumbers numbers;
  CatalogSnapshot a(1, {Model("m", 1, {Record("m", 1, 10)})});
  CatalogSnapshot b(2, {Model("m", 1, {Record("m", 1, 10), Record("m", 2, 11)})});
  const auto changes = DiffCatalogs(a, b, numbers);
  const uint64_t dir = numbers.Model(1);
  const std::vector<Invalidation> expected = {{dir, "2", 0},
                                              {dir, "latest", 0},
                                              {0, "", dir},
                                              {0, "", numbers.Latest(1)},
                                              {0, "", kRootIno}};
  EXPECT_EQ(changes, expected);
}

TEST(CatalogDiffTest, RemovedVersionAndReimportedVersionAreForgotten) {
  InodeNumbers numbers;
  CatalogSnapshot a(1, {Model("m", 1, {Record("m", 1, 10), Record("m", 2, 11)})});
  CatalogSnapshot b(2, {Model("m", 1, {Record("m", 1, 12), Record("m", 2, 11)})});
  const auto changes = DiffCatalogs(a, b, numbers);
  const uint64_t dir = numbers.Model(1);
  ASSERT_FALSE(changes.empty());
  EXPECT_EQ(changes[0], (Invalidation{dir, "1", 0}));
  // latest (version 2, seq 11) did not change.
  for (const auto& change : changes) EXPECT_NE(change.name, "latest");
}

TEST(CatalogDiffTest, ModelsComingAndGoingInvalidateTheRoot) {
  InodeNumbers numbers;
  CatalogSnapshot a(1, {Model("old", 1, {Record("old", 1, 1)})});
  CatalogSnapshot b(2, {Model("new", 2, {Record("new", 1, 2)})});
  const auto changes = DiffCatalogs(a, b, numbers);
  const std::vector<Invalidation> expected = {
      {kRootIno, "old", 0}, {kRootIno, "new", 0}, {0, "", numbers.Model(1)}, {0, "", kRootIno}};
  EXPECT_EQ(changes, expected);
}

}  // namespace
}  // namespace re2po::fs
