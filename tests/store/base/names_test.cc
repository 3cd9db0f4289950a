// Which model names, path components, version numbers and version refs the
// store accepts.
#include "store/base/names.h"

#include <string>

#include "store/store.h"
#include "tests/testutil/status_testutil.h"

namespace re2po {
namespace {

using namespace std::string_literals;

class NamesTest : public ::testing::Test {};

TEST_F(NamesTest, ValidModelNames) {
  for (std::string name : {"a"s, "Z"s, "7"s, "bert-base-uncased"s, "llama_2.7b"s, "v1.0-rc_2"s,
                           "a..b"s, "a-"s, "a."s, std::string(kMaxModelNameLength, 'm')}) {
    EXPECT_STATUS_CODE(StatusCode::kOk, ValidateModelName(name)) << name;
  }
}

TEST_F(NamesTest, InvalidModelNames) {
  for (std::string name : {""s, "."s, ".."s, ".hidden"s, "-flag"s, "_under"s, "a/b"s, "../x"s,
                           "a b"s, "a\0b"s, "a\nb"s, "tab\t"s, "del\x7f"s, "caf\xc3\xa9"s, "a@1"s,
                           "a:b"s, "a\\b"s, std::string(kMaxModelNameLength + 1, 'm')}) {
    EXPECT_STATUS_CODE(StatusCode::kInvalidArgument, ValidateModelName(name))
        << "'" << name << "' (" << name.size() << " bytes)";
  }
}

TEST_F(NamesTest, ModelNameMessageEscapesControlCharacters) {
  Status status = ValidateModelName("bad\x01name");
  ASSERT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("bad\\x01name"), std::string::npos) << status.message();
  EXPECT_EQ(status.message().find('\x01'), std::string::npos);
}

TEST_F(NamesTest, ValidPathComponents) {
  for (std::string name : {"a"s, ".hidden"s, "..."s, "-dash"s, "with space"s, "caf\xc3\xa9"s,
                           "\xe6\xa8\xa1\xe5\x9e\x8b.onnx"s, "emoji\xf0\x9f\x98\x80"s, "a\\b"s,
                           std::string(kMaxComponentLength, 'c')}) {
    EXPECT_STATUS_CODE(StatusCode::kOk, ValidatePathComponent(name)) << name;
  }
}

TEST_F(NamesTest, InvalidPathComponents) {
  for (std::string name : {""s, "."s, ".."s, "a/b"s, "/"s, "a\0b"s, "line\nbreak"s, "\x1b[31m"s,
                           "del\x7f"s, "cr\r"s, std::string(kMaxComponentLength + 1, 'c')}) {
    EXPECT_STATUS_CODE(StatusCode::kInvalidArgument, ValidatePathComponent(name))
        << name.size() << " bytes";
  }
}

TEST_F(NamesTest, VersionNumbers) {
  EXPECT_EQ(*ParseVersionNumber("0"), 0u);
  EXPECT_EQ(*ParseVersionNumber("1"), 1u);
  EXPECT_EQ(*ParseVersionNumber("42"), 42u);
  EXPECT_EQ(*ParseVersionNumber("18446744073709551615"), UINT64_MAX);
}

TEST_F(NamesTest, InvalidVersionNumbers) {
  for (std::string text :
       {""s, "00"s, "01"s, "007"s, "-1"s, "+1"s, "-0"s, " 1"s, "1 "s, "1.0"s, "1e3"s, "0x10"s,
        "abc"s, "18446744073709551616"s, "99999999999999999999999"s, "1\0"s}) {
    EXPECT_STATUS_CODE(StatusCode::kInvalidArgument, ParseVersionNumber(text)) << text;
  }
}

TEST_F(NamesTest, VersionRefWithAndWithoutVersion) {
  ASSERT_OK_AND_ASSIGN(VersionRef with, ParseVersionRef("bert@12"));
  EXPECT_EQ(with.model, "bert");
  EXPECT_EQ(with.version, 12u);
  ASSERT_OK_AND_ASSIGN(VersionRef without, ParseVersionRef("bert"));
  EXPECT_EQ(without.model, "bert");
  EXPECT_FALSE(without.version.has_value());
  ASSERT_OK_AND_ASSIGN(VersionRef zero, ParseVersionRef("m.v2@0"));
  EXPECT_EQ(zero.model, "m.v2");
  EXPECT_EQ(zero.version, 0u);
}

TEST_F(NamesTest, InvalidVersionRefs) {
  for (std::string text : {""s, "@1"s, "bert@"s, "bert@01"s, "bert@-1"s, "bert@x"s, "a@b@1"s,
                           ".x@1"s, "bert@1@"s, "bert@18446744073709551616"s}) {
    EXPECT_STATUS_CODE(StatusCode::kInvalidArgument, ParseVersionRef(text)) << text;
  }
}

}  // namespace
}  // namespace re2po
