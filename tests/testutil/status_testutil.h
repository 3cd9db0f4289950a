// Helpers shared by the tests: scale control for big data and
// Result assertions. Not a test file itself (only *_test.cc are compiled).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <ostream>
#include <string_view>

#include "store/base/status.h"
#include "tests/testutil/testutil.h"

namespace re2po {
// Readable StatusCode names in gtest failure messages.
inline void PrintTo(StatusCode code, std::ostream* os) { *os << StatusCodeName(code); }
}  // namespace re2po

namespace re2po::testing {

// RE2PO_TEST_SCALE=small shrinks big data (sanitizer builds).
inline bool SmallScale() {
  const char* scale = std::getenv("RE2PO_TEST_SCALE");
  return scale != nullptr && std::string_view(scale) == "small";
}

// `full` normally, `small` under RE2PO_TEST_SCALE=small.
inline uint64_t Scaled(uint64_t full, uint64_t small) { return SmallScale() ? small : full; }

}  // namespace re2po::testing

#define RE2PO_ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                    \
  ASSERT_TRUE(tmp.ok()) << tmp.status().ToString();     \
  lhs = std::move(tmp).value()

// Asserts that a Result is OK and moves its value into `lhs`.
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  RE2PO_ASSERT_OK_AND_ASSIGN_IMPL(RE2PO_CONCAT(re2po_result_, __LINE__), lhs, expr)

namespace re2po::testing {
inline Status StatusOf(const Status& status) { return status; }
template <typename T>
Status StatusOf(const Result<T>& result) {
  return result.ok() ? Status::Ok() : result.status();
}

template <typename T>
::testing::AssertionResult StatusCodeIs(const char* expr_text, const char* /*code_text*/,
                                        const T& value, StatusCode code) {
  Status status = StatusOf(value);
  if (status.code() == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << expr_text << " gave \"" << status.ToString() << "\", expected " << StatusCodeName(code);
}
}  // namespace re2po::testing

// Expects a Status or Result with exactly `code` (OK included); streamable.
#define EXPECT_STATUS_CODE(code, expr) \
  EXPECT_PRED_FORMAT2(::re2po::testing::StatusCodeIs, expr, code)
