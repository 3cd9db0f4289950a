// CatalogSnapshot lookups: models by name, versions by number, latest.
#include "store/catalog/catalog.h"

#include "tests/testutil/status_testutil.h"

namespace re2po {
namespace {

class CatalogTest : public ::testing::Test {
 protected:
  static ModelEntry Model(std::string name, std::vector<uint64_t> versions) {
    ModelEntry model;
    model.name = std::move(name);
    for (uint64_t v : versions) {
      VersionRecord record;
      record.model = model.name;
      record.version = v;
      model.versions.push_back(record);
    }
    return model;
  }
  static CatalogSnapshot Sample() {
    return CatalogSnapshot(
        7, {Model("alpha", {1, 2, 10}), Model("beta", {}), Model("gamma", {uint64_t{1} << 40})});
  }
};

TEST_F(CatalogTest, FindsModelsByExactName) {
  CatalogSnapshot catalog = Sample();
  EXPECT_EQ(catalog.generation(), 7u);
  ASSERT_NE(catalog.FindModel("alpha"), nullptr);
  EXPECT_EQ(catalog.FindModel("alpha")->name, "alpha");
  EXPECT_NE(catalog.FindModel("gamma"), nullptr);
  EXPECT_EQ(catalog.FindModel("alph"), nullptr);
  EXPECT_EQ(catalog.FindModel("alphaa"), nullptr);
  EXPECT_EQ(catalog.FindModel(""), nullptr);
  EXPECT_EQ(catalog.FindModel("zeta"), nullptr);
}

TEST_F(CatalogTest, FindsVersionsByNumber) {
  CatalogSnapshot catalog = Sample();
  for (uint64_t v : {1, 2, 10}) {
    const VersionRecord* record = catalog.FindVersion("alpha", v);
    ASSERT_NE(record, nullptr) << v;
    EXPECT_EQ(record->version, v);
  }
  for (uint64_t v : {0, 3, 9, 11}) EXPECT_EQ(catalog.FindVersion("alpha", v), nullptr) << v;
  EXPECT_EQ(catalog.FindVersion("beta", 1), nullptr);
  EXPECT_EQ(catalog.FindVersion("nobody", 1), nullptr);
  EXPECT_NE(catalog.FindVersion("gamma", uint64_t{1} << 40), nullptr);
}

TEST_F(CatalogTest, LatestIsTheHighestVersion) {
  CatalogSnapshot catalog = Sample();
  ASSERT_NE(catalog.FindModel("alpha")->Latest(), nullptr);
  EXPECT_EQ(catalog.FindModel("alpha")->Latest()->version, 10u);
  EXPECT_EQ(catalog.FindModel("beta")->Latest(), nullptr);
}

TEST_F(CatalogTest, EmptyCatalog) {
  CatalogSnapshot catalog(0, {});
  EXPECT_TRUE(catalog.models().empty());
  EXPECT_EQ(catalog.FindModel("a"), nullptr);
  EXPECT_EQ(catalog.FindVersion("a", 1), nullptr);
}

}  // namespace
}  // namespace re2po
