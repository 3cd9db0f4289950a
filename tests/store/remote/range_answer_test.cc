// A range answer is used only when it holds exactly the bytes asked for.
#include "store/remote/range_answer.h"

#include "tests/testutil/status_testutil.h"

namespace re2po {
namespace {

HttpResponse Answer(long status, std::string body, std::string content_range = "",
                    std::optional<uint64_t> content_length = std::nullopt) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  response.content_range = std::move(content_range);
  response.content_length = content_length;
  return response;
}

TEST(TakeRequestedRangeTest, PartialContentThatMatches) {
  ASSERT_OK_AND_ASSIGN(std::string bytes,
                       TakeRequestedRange(Answer(206, "2345", "bytes 2-5/10"), 2, 4));
  EXPECT_EQ(bytes, "2345");
  ASSERT_OK_AND_ASSIGN(std::string unknown_total,
                       TakeRequestedRange(Answer(206, "2345", "bytes 2-5/*"), 2, 4));
  EXPECT_EQ(unknown_total, "2345");
}

TEST(TakeRequestedRangeTest, PartialContentThatDoesNotMatchIsAnError) {
  struct Case {
    std::string content_range;
    std::string body;
  };
  for (const Case& c : std::vector<Case>{{"bytes 0-3/10", "0123"},   // another range
                                         {"bytes 2-5/10", "234"},    // short body
                                         {"bytes 2-5/10", "23456"},  // long body
                                         {"", "2345"},               // no Content-Range
                                         {"bytes 2-5", "2345"},
                                         {"items 2-5/10", "2345"},
                                         {"bytes 5-2/10", "2345"},
                                         {"bytes 2-99999999999999999999/10", "2345"},
                                         {"bytes 2-6/10", "23456"}}) {
    Result<std::string> bytes = TakeRequestedRange(Answer(206, c.body, c.content_range), 2, 4);
    ASSERT_FALSE(bytes.ok()) << c.content_range << " / " << c.body;
    EXPECT_EQ(bytes.status().code(), StatusCode::kIOError) << c.content_range;
  }
}

TEST(TakeRequestedRangeTest, PartialContentCutAtTheObjectsEndIsPastTheEnd) {
  Result<std::string> bytes = TakeRequestedRange(Answer(206, "89", "bytes 8-9/10"), 8, 4);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bytes.status().message().find("10-byte object"), std::string::npos);
}

TEST(TakeRequestedRangeTest, WholeObjectAnswerIsSliced) {
  ASSERT_OK_AND_ASSIGN(std::string bytes,
                       TakeRequestedRange(Answer(200, "0123456789", "", 10), 2, 4));
  EXPECT_EQ(bytes, "2345");
  // The body stopped at the range's end on purpose (max_body_bytes).
  HttpResponse cut = Answer(200, "012345", "", 1'000'000);
  cut.body_truncated = true;
  ASSERT_OK_AND_ASSIGN(std::string from_cut, TakeRequestedRange(std::move(cut), 2, 4));
  EXPECT_EQ(from_cut, "2345");
}

TEST(TakeRequestedRangeTest, WholeObjectTooShortIsPastTheEnd) {
  for (auto content_length : {std::optional<uint64_t>(4), std::optional<uint64_t>()}) {
    Result<std::string> bytes = TakeRequestedRange(Answer(200, "0123", "", content_length), 2, 4);
    ASSERT_FALSE(bytes.ok());
    EXPECT_EQ(bytes.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(TakeRequestedRangeTest, OtherStatusesAreNotRanges) {
  EXPECT_FALSE(TakeRequestedRange(Answer(204, ""), 0, 1).ok());
}

}  // namespace
}  // namespace re2po
