#include "store/formats/isolated_parse.h"

#include <signal.h>

#include <cstdlib>

#include "tests/testutil/testutil.h"

namespace re2po::testing {
namespace {

Result<ParsedFile> Crashes(ByteSpan) { std::abort(); }

// What the child's 30 s alarm does to a parser that hangs, without the wait.
Result<ParsedFile> RunsOutOfTime(ByteSpan) {
  raise(SIGALRM);
  std::abort();
}

Result<ParsedFile> Refuses(ByteSpan) { return Status::Corruption("test: refused"); }

Result<ParsedFile> Describes(ByteSpan bytes) {
  ParsedFile parsed;
  parsed.format = "test";
  parsed.segments.push_back(
      {1, bytes.size() - 1, SegmentKind::kTensor, "w", DType::kF16, "F16", {2, -1, 3}});
  parsed.companions.push_back(
      {"data.bin", {{0, 8, SegmentKind::kTensor, "x", DType::kI8, "", {}}}});
  return parsed;
}

Result<ParsedFile> AllocatesWithoutBound(ByteSpan) {
  for (;;) {
    auto* block = static_cast<char*>(std::malloc(size_t{1} << 30));
    if (block == nullptr) std::abort();
    for (size_t i = 0; i < (size_t{1} << 30); i += 4096) block[i] = 1;
  }
}

TEST(IsolatedParseTest, ResultCrossesTheProcessBoundaryIntact) {
  std::vector<uint8_t> bytes(100, 7);
  auto parsed = ParseIsolated("test", &Describes, bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->segments.size(), 1u);
  EXPECT_EQ(parsed->format, "test");
  EXPECT_EQ(parsed->segments[0].offset, 1u);
  EXPECT_EQ(parsed->segments[0].length, 99u);
  EXPECT_EQ(parsed->segments[0].native_dtype, "F16");
  EXPECT_EQ(parsed->segments[0].shape, (std::vector<int64_t>{2, -1, 3}));
  ASSERT_EQ(parsed->companions.size(), 1u);
  EXPECT_EQ(parsed->companions[0].relative_path, "data.bin");
  EXPECT_EQ(parsed->companions[0].segments[0].dtype, DType::kI8);
}

TEST(IsolatedParseTest, ParserErrorsKeepTheirMessage) {
  auto parsed = ParseIsolated("test", &Refuses, {});
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(), "test: refused");
}

TEST(IsolatedParseTest, ACrashingParserOnlyKillsTheChild) {
  auto parsed = ParseIsolated("test", &Crashes, {});
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kCorruption);
  EXPECT_NE(parsed.status().message().find("gave up"), std::string::npos);
  EXPECT_NE(parsed.status().message().find("signal 6, Aborted"), std::string::npos)
      << parsed.status().message();
}

TEST(IsolatedParseTest, AHangingParserIsReportedAsOutOfTime) {
  auto parsed = ParseIsolated("test", &RunsOutOfTime, {});
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("no answer within 30 s"), std::string::npos)
      << parsed.status().message();
}

TEST(IsolatedParseTest, UnboundedAllocationIsStoppedByTheLimit) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "the address-space limit is off under sanitizers (shadow memory)";
#endif
  auto parsed = ParseIsolated("test", &AllocatesWithoutBound, {});
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("gave up"), std::string::npos);
}

}  // namespace
}  // namespace re2po::testing
