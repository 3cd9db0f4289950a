// The one segment check. SortedDisjointSegments, which every parser runs:
// sorted, in bounds, no overlap, no overflow, "rest of file" only where the
// file's size is unknown. NormalizeSegments, which the planner runs: the
// contract the chunkers rely on (sorted, exact cover, gaps filled with
// metadata) and the parser mistakes it must reject.
#include "store/formats/segments.h"

#include <algorithm>
#include <limits>
#include <random>

#include "tests/testutil/status_testutil.h"

namespace re2po {
namespace {

constexpr uint64_t kRest = std::numeric_limits<uint64_t>::max();

class SegmentsTest : public ::testing::Test {
 protected:
  static Segment Tensor(std::string name, uint64_t offset, uint64_t length) {
    Segment segment;
    segment.offset = offset;
    segment.length = length;
    segment.kind = SegmentKind::kTensor;
    segment.name = std::move(name);
    segment.dtype = DType::kUnknown;
    return segment;
  }

  struct Span {
    uint64_t offset, length;
    SegmentKind kind;
  };
  static void ExpectLayout(const std::vector<Segment>& got, const std::vector<Span>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got[i].offset, want[i].offset) << i;
      EXPECT_EQ(got[i].length, want[i].length) << i;
      EXPECT_EQ(got[i].kind, want[i].kind) << i;
    }
  }

  static void ExpectCover(const std::vector<Segment>& segments, uint64_t file_size) {
    uint64_t cursor = 0;
    for (const Segment& segment : segments) {
      ASSERT_EQ(segment.offset, cursor);
      ASSERT_GT(segment.length, 0u);
      cursor = segment.end();
    }
    EXPECT_EQ(cursor, file_size);
  }
};

constexpr SegmentKind kMeta = SegmentKind::kMetadata;
constexpr SegmentKind kTensor = SegmentKind::kTensor;

TEST_F(SegmentsTest, FillsGapsAroundTensors) {
  ASSERT_OK_AND_ASSIGN(auto got,
                       NormalizeSegments({Tensor("a", 10, 10), Tensor("b", 50, 10)}, 100));
  ExpectLayout(
      got,
      {{0, 10, kMeta}, {10, 10, kTensor}, {20, 30, kMeta}, {50, 10, kTensor}, {60, 40, kMeta}});
  EXPECT_EQ(got[1].name, "a");
  EXPECT_EQ(got[3].name, "b");
}

TEST_F(SegmentsTest, AdjacentTensorsGetNoGapBetween) {
  ASSERT_OK_AND_ASSIGN(auto got, NormalizeSegments({Tensor("a", 0, 10), Tensor("b", 10, 90)}, 100));
  ExpectLayout(got, {{0, 10, kTensor}, {10, 90, kTensor}});
}

TEST_F(SegmentsTest, SortsByOffsetKeepingNames) {
  ASSERT_OK_AND_ASSIGN(
      auto got,
      NormalizeSegments({Tensor("late", 70, 5), Tensor("early", 5, 5), Tensor("mid", 30, 5)}, 80));
  std::vector<std::string> names;
  for (const Segment& s : got) {
    if (s.kind == kTensor) names.push_back(s.name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"early", "mid", "late"}));
  ExpectCover(got, 80);
}

TEST_F(SegmentsTest, ClipsRestOfFileLengthToTheEnd) {
  ASSERT_OK_AND_ASSIGN(auto got, NormalizeSegments({Tensor("tail", 40, kRest)}, 100));
  ExpectLayout(got, {{0, 40, kMeta}, {40, 60, kTensor}});
  // At exactly the end it becomes empty and is dropped.
  ASSERT_OK_AND_ASSIGN(auto at_end, NormalizeSegments({Tensor("none", 100, kRest)}, 100));
  ExpectLayout(at_end, {{0, 100, kMeta}});
}

TEST_F(SegmentsTest, RestOfFileStartingPastTheEndIsCorruption) {
  EXPECT_STATUS_CODE(StatusCode::kCorruption, NormalizeSegments({Tensor("x", 101, kRest)}, 100));
}

TEST_F(SegmentsTest, OverlapIsCorruptionNamingTheTensor) {
  auto result = NormalizeSegments({Tensor("first", 0, 20), Tensor("second", 19, 5)}, 100);
  EXPECT_STATUS_CODE(StatusCode::kCorruption, result);
  if (!result.ok()) {
    EXPECT_NE(result.status().message().find("second"), std::string::npos)
        << result.status().message();
  }
  // Same start, both non-empty.
  EXPECT_STATUS_CODE(StatusCode::kCorruption,
                     NormalizeSegments({Tensor("a", 10, 5), Tensor("b", 10, 5)}, 100));
  // One inside another.
  EXPECT_STATUS_CODE(StatusCode::kCorruption,
                     NormalizeSegments({Tensor("outer", 0, 50), Tensor("inner", 10, 5)}, 100));
}

TEST_F(SegmentsTest, PastEndIsCorruption) {
  EXPECT_STATUS_CODE(StatusCode::kCorruption, NormalizeSegments({Tensor("a", 90, 11)}, 100));
  EXPECT_STATUS_CODE(StatusCode::kCorruption, NormalizeSegments({Tensor("a", 101, 0)}, 100));
  EXPECT_STATUS_CODE(StatusCode::kCorruption, NormalizeSegments({Tensor("a", 0, 1)}, 0));
  // offset + length wraps around 2^64: still past the end, not a tiny range.
  EXPECT_STATUS_CODE(StatusCode::kCorruption,
                     NormalizeSegments({Tensor("wrap", 50, kRest - 10)}, 100));
  EXPECT_STATUS_CODE(StatusCode::kCorruption, NormalizeSegments({Tensor("wrap", kRest, 2)}, 100));
  // The tensor ending exactly at EOF is fine.
  EXPECT_TRUE(NormalizeSegments({Tensor("a", 90, 10)}, 100).ok());
}

TEST_F(SegmentsTest, DropsEmptyTensors) {
  ASSERT_OK_AND_ASSIGN(auto got, NormalizeSegments({Tensor("empty", 30, 0), Tensor("a", 10, 40),
                                                    Tensor("empty_end", 100, 0)},
                                                   100));
  // The empty tensor inside "a" is dropped before the overlap check.
  ExpectLayout(got, {{0, 10, kMeta}, {10, 40, kTensor}, {50, 50, kMeta}});
}

TEST_F(SegmentsTest, EmptyFile) {
  ASSERT_OK_AND_ASSIGN(auto got, NormalizeSegments({}, 0));
  EXPECT_TRUE(got.empty());
  ASSERT_OK_AND_ASSIGN(auto with_empty, NormalizeSegments({Tensor("e", 0, 0)}, 0));
  EXPECT_TRUE(with_empty.empty());
}

TEST_F(SegmentsTest, NoTensorsIsOneMetadataSegment) {
  ASSERT_OK_AND_ASSIGN(auto got, NormalizeSegments({}, 12345));
  ExpectLayout(got, {{0, 12345, kMeta}});
}

TEST_F(SegmentsTest, WholeFileSegment) {
  EXPECT_TRUE(WholeFileSegment(0).empty());
  auto one = WholeFileSegment(77);
  ExpectLayout(one, {{0, 77, kMeta}});
}

TEST_F(SegmentsTest, RandomValidLayoutsAreCoveredExactly) {
  std::mt19937_64 rng(31337);
  for (int round = 0; round < 2000; ++round) {
    uint64_t file_size = rng() % 5000;
    std::vector<Segment> tensors;
    uint64_t cursor = 0;
    while (cursor < file_size && rng() % 8 != 0) {
      uint64_t offset = cursor + rng() % 200;
      if (offset > file_size) break;
      uint64_t length = std::min<uint64_t>(rng() % 300, file_size - offset);
      if (rng() % 10 == 0) length = rng() % 2 ? 0 : kRest;
      tensors.push_back(Tensor("t" + std::to_string(tensors.size()), offset, length));
      cursor = length == kRest ? file_size : offset + length;
      if (length == kRest) break;
    }
    size_t nonempty = 0;
    for (const Segment& t : tensors) {
      nonempty += t.length != 0 && !(t.length == kRest && t.offset == file_size);
    }
    std::shuffle(tensors.begin(), tensors.end(), rng);
    ASSERT_OK_AND_ASSIGN(auto got, NormalizeSegments(tensors, file_size));
    ExpectCover(got, file_size);
    size_t tensor_count = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      tensor_count += got[i].kind == kTensor;
      // Gaps are filled by exactly one metadata segment: never two in a row.
      if (i > 0) {
        EXPECT_FALSE(got[i].kind == kMeta && got[i - 1].kind == kMeta);
      }
    }
    EXPECT_EQ(tensor_count, nonempty);
  }
}

TEST_F(SegmentsTest, RandomOverlappingLayoutsAreRejected) {
  std::mt19937_64 rng(4242);
  for (int round = 0; round < 2000; ++round) {
    uint64_t file_size = 100 + rng() % 5000;
    uint64_t offset = rng() % (file_size - 10);
    uint64_t length = 2 + rng() % std::min<uint64_t>(200, file_size - offset - 1);
    uint64_t other = offset + rng() % (length - 1);  // starts inside the first
    uint64_t other_length = 1 + rng() % (file_size - other);
    std::vector<Segment> tensors = {Tensor("a", offset, length), Tensor("b", other, other_length)};
    std::shuffle(tensors.begin(), tensors.end(), rng);
    EXPECT_STATUS_CODE(StatusCode::kCorruption, NormalizeSegments(tensors, file_size))
        << offset << "+" << length << " vs " << other << "+" << other_length;
  }
}

TEST_F(SegmentsTest, ParserSortsAndAcceptsSegmentsInsideTheFile) {
  auto sorted = SortedDisjointSegments("test", {Tensor("t50", 50, 50), Tensor("t0", 0, 10)}, 100);
  ASSERT_TRUE(sorted.ok()) << sorted.status().ToString();
  ASSERT_EQ(sorted->size(), 2u);
  EXPECT_EQ((*sorted)[0].offset, 0u);
  EXPECT_EQ((*sorted)[1].offset, 50u);
}

TEST_F(SegmentsTest, ParserRefusesOverlapsOverrunsAndOverflows) {
  EXPECT_FALSE(
      SortedDisjointSegments("test", {Tensor("t0", 0, 20), Tensor("t10", 10, 5)}, 100).ok());
  EXPECT_FALSE(SortedDisjointSegments("test", {Tensor("t90", 90, 11)}, 100).ok());
  EXPECT_FALSE(SortedDisjointSegments("test", {Tensor("t2", 2, UINT64_MAX - 1)}, 100).ok());
}

// Found by the long fuzz run: a TFLite buffer whose size field is 2^64 - 1
// was taken for "rest of file" and came back with an end past 2^64.
TEST_F(SegmentsTest, ParserRestOfFileOnlyWhereTheSizeIsUnknown) {
  auto known = SortedDisjointSegments("test", {Tensor("t8", 8, kRestOfFile)}, 100);
  ASSERT_FALSE(known.ok());
  EXPECT_NE(known.status().message().find("overflows"), std::string::npos)
      << known.status().ToString();
  auto unknown =
      SortedDisjointSegments("companion", {Tensor("t8", 8, kRestOfFile)}, kUnknownFileSize);
  ASSERT_TRUE(unknown.ok()) << unknown.status().ToString();
  EXPECT_FALSE(SortedDisjointSegments("companion",
                                      {Tensor("t8", 8, kRestOfFile), Tensor("t20", 20, 4)},
                                      kUnknownFileSize)
                   .ok());
}

}  // namespace
}  // namespace re2po
