// The inode scheme (numbers derived from catalog ids) and the inode
// table's lookup counts.
#include "fs/core/inode_table.h"

#include <set>

#include "tests/testutil/testutil.h"

namespace re2po::fs {
namespace {

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

}  // namespace
}  // namespace re2po::fs
