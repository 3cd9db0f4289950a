// The handle table owns open file and directory handles.
#include "fs/core/handle_table.h"

#include <memory>

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

}  // namespace
}  // namespace re2po::fs
