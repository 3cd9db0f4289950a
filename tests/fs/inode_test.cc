// The inode scheme, the inode table's lookup counts, the catalog diff that
// drives kernel invalidations, and the errno mapping. No FUSE needed.
#include <cerrno>
#include <set>

#include "fs/core/catalog_diff.h"
#include "fs/core/errno_map.h"
#include "fs/core/handle_table.h"
#include "fs/core/inode_table.h"
#include "tests/testutil/testutil.h"

namespace re2po::fs {
namespace {

// Handles the kernel never released are freed with the table (a daemon
// stopped by SIGTERM while files are open must not leak them).
TEST(HandleTableTest, OwnsHandlesUntilDroppedOrDestroyed) {
  auto alive = std::make_shared<int>(0);
  struct Tracked {
    std::shared_ptr<int> alive;
    explicit Tracked(std::shared_ptr<int> a) : alive(std::move(a)) { ++*alive; }
    ~Tracked() { --*alive; }
  };
  {
    HandleTable<Tracked> table;
    const uint64_t first = table.Adopt(std::make_unique<Tracked>(alive));
    const uint64_t second = table.Adopt(std::make_unique<Tracked>(alive));
    EXPECT_NE(first, second);
    EXPECT_EQ(HandleTable<Tracked>::Get(first).alive, alive);
    EXPECT_EQ(*alive, 2);
    table.Drop(first);
    table.Drop(first);  // a second release of the same fh is harmless
    EXPECT_EQ(*alive, 1);
    EXPECT_EQ(table.size(), 1u);
  }
  EXPECT_EQ(*alive, 0);
}

TEST(InodeNumbersTest, DerivedFromCatalogIdsWithoutCollisions) {
  InodeNumbers numbers;
  EXPECT_EQ(numbers.Model(0), 2u);
  EXPECT_EQ(numbers.Latest(0), 3u);
  EXPECT_EQ(numbers.Model(5), 12u);
  EXPECT_EQ(numbers.Entry(0, 0), (uint64_t{1} << 24) | 1);
  EXPECT_EQ(numbers.Entry(7, 3), (uint64_t{8} << 24) | 4);
  std::set<uint64_t> seen = {kRootIno};
  for (uint64_t id = 0; id < 300; ++id) {
    EXPECT_TRUE(seen.insert(numbers.Model(id)).second);
    EXPECT_TRUE(seen.insert(numbers.Latest(id)).second);
  }
  for (uint64_t seq = 0; seq < 50; ++seq) {
    for (uint32_t index = 0; index < 50; ++index) {
      EXPECT_TRUE(seen.insert(numbers.Entry(seq, index)).second);
    }
  }
  // Out of range: the overflow space, stable and distinct.
  const uint64_t huge_index = numbers.Entry(1, (1u << 24) - 1);
  EXPECT_GE(huge_index, uint64_t{1} << 63);
  EXPECT_EQ(numbers.Entry(1, (1u << 24) - 1), huge_index);
  EXPECT_NE(numbers.Entry(2, (1u << 24) - 1), huge_index);
  EXPECT_GE(numbers.Model(uint64_t{1} << 30), uint64_t{1} << 63);
  EXPECT_NE(numbers.Model(uint64_t{1} << 30), numbers.Latest(uint64_t{1} << 30));
}

TEST(InodeTableTest, LookupCountsFollowForget) {
  InodeTable table;
  Node node{NodeKind::kModel, "m", 1, nullptr, 0};
  EXPECT_TRUE(table.Get(kRootIno).has_value());
  EXPECT_FALSE(table.Get(4).has_value());
  table.Ref(4, node);
  table.Ref(4, node);
  table.Ref(4, node);
  table.Forget(4, 2);
  ASSERT_TRUE(table.Get(4).has_value());
  EXPECT_EQ(table.Get(4)->model, "m");
  table.Forget(4, 1);
  EXPECT_FALSE(table.Get(4).has_value());
  table.Forget(4, 1);  // unknown: ignored
  table.Forget(kRootIno, 10);
  EXPECT_TRUE(table.Get(kRootIno).has_value());
  EXPECT_EQ(table.size(), 0u);
}

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

TEST(ErrnoMapTest, EveryStatusHasItsErrno) {
  EXPECT_EQ(ErrnoOf(StatusCode::kOk), 0);
  EXPECT_EQ(ErrnoOf(StatusCode::kNotFound), ENOENT);
  EXPECT_EQ(ErrnoOf(StatusCode::kCorruption), EIO);
  EXPECT_EQ(ErrnoOf(StatusCode::kIOError), EIO);
  EXPECT_EQ(ErrnoOf(StatusCode::kNoSpace), ENOSPC);
  EXPECT_EQ(ErrnoOf(StatusCode::kInvalidArgument), EINVAL);
  EXPECT_EQ(ErrnoOf(StatusCode::kPermissionDenied), EACCES);
  EXPECT_EQ(ErrnoOf(StatusCode::kUnsupported), ENOTSUP);
  EXPECT_EQ(ErrnoOf(StatusCode::kBusy), EAGAIN);
  EXPECT_EQ(ErrnoOf(StatusCode::kAlreadyExists), EEXIST);
  EXPECT_EQ(ToErrno(Status::Corruption("chunk abc: bad"), "read", 7), EIO);
}

}  // namespace
}  // namespace re2po::fs
