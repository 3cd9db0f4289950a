// The check every parser's segments pass through: sorted, in bounds, no
// overlap, no overflow; "rest of file" only where the file's size is unknown.
#include "store/formats/tensor_ranges.h"

#include <gtest/gtest.h>

namespace re2po {
namespace {

Segment Tensor(uint64_t offset, uint64_t length) {
  Segment segment;
  segment.offset = offset;
  segment.length = length;
  segment.kind = SegmentKind::kTensor;
  segment.name = "t" + std::to_string(offset);
  return segment;
}

TEST(SortedDisjointSegmentsTest, SortsAndAcceptsSegmentsInsideTheFile) {
  auto sorted = SortedDisjointSegments("test", {Tensor(50, 50), Tensor(0, 10)}, 100);
  ASSERT_TRUE(sorted.ok()) << sorted.status().ToString();
  ASSERT_EQ(sorted->size(), 2u);
  EXPECT_EQ((*sorted)[0].offset, 0u);
  EXPECT_EQ((*sorted)[1].offset, 50u);
}

TEST(SortedDisjointSegmentsTest, RefusesOverlapsOverrunsAndOverflows) {
  EXPECT_FALSE(SortedDisjointSegments("test", {Tensor(0, 20), Tensor(10, 5)}, 100).ok());
  EXPECT_FALSE(SortedDisjointSegments("test", {Tensor(90, 11)}, 100).ok());
  EXPECT_FALSE(SortedDisjointSegments("test", {Tensor(2, UINT64_MAX - 1)}, 100).ok());
}

// Found by the long fuzz run: a TFLite buffer whose size field is 2^64 - 1
// was taken for "rest of file" and came back with an end past 2^64.
TEST(SortedDisjointSegmentsTest, RestOfFileOnlyWhereTheSizeIsUnknown) {
  auto known = SortedDisjointSegments("test", {Tensor(8, kRestOfFile)}, 100);
  ASSERT_FALSE(known.ok());
  EXPECT_NE(known.status().message().find("overflows"), std::string::npos)
      << known.status().ToString();
  auto unknown = SortedDisjointSegments("companion", {Tensor(8, kRestOfFile)}, kUnknownFileSize);
  ASSERT_TRUE(unknown.ok()) << unknown.status().ToString();
  EXPECT_FALSE(
      SortedDisjointSegments("companion", {Tensor(8, kRestOfFile), Tensor(20, 4)}, kUnknownFileSize)
          .ok());
}

}  // namespace
}  // namespace re2po
