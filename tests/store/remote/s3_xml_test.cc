// The ListObjectsV2 and error parsers: real answers parse, escaped keys come
// back decoded, and hostile or cut answers are errors, never partial lists.
#include "store/remote/s3_xml.h"

#include "tests/testutil/status_testutil.h"

namespace re2po {
namespace {

// As radosgw (Pacific) answers a ListObjectsV2 page.
constexpr std::string_view kPage = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>
<Prefix>p/</Prefix><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>
<Contents><Key>p/a&amp;b&lt;c&gt;&quot;d&apos;</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>
<ETag>&quot;0cc175b9c0f1b6a831c399e269772661&quot;</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass>
<Owner><ID>re2po</ID><DisplayName>Re2po tests</DisplayName></Owner><Type>Normal</Type></Contents>
<Contents><Key>p/&#252;&#x4e2d;</Key><Size>18446744073709551615</Size></Contents>
<KeyCount>2</KeyCount><NextContinuationToken>1ABC/def+==</NextContinuationToken></ListBucketResult>)";

TEST(ParseListObjectsV2Test, ParsesAPageWithEscapedKeys) {
  ASSERT_OK_AND_ASSIGN(ListObjectsPage page, ParseListObjectsV2(kPage));
  ASSERT_EQ(page.entries.size(), 2u);
  EXPECT_EQ(page.entries[0].key, "p/a&b<c>\"d'");
  EXPECT_EQ(page.entries[0].size, 1u);
  EXPECT_EQ(page.entries[1].key, "p/\xc3\xbc\xe4\xb8\xad");
  EXPECT_EQ(page.entries[1].size, UINT64_MAX);
  EXPECT_TRUE(page.is_truncated);
  EXPECT_EQ(page.next_continuation_token, "1ABC/def+==");
}

TEST(ParseListObjectsV2Test, EmptyLastPage) {
  ASSERT_OK_AND_ASSIGN(
      ListObjectsPage page,
      ParseListObjectsV2("<ListBucketResult><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated>"
                         "</ListBucketResult>"));
  EXPECT_TRUE(page.entries.empty());
  EXPECT_FALSE(page.is_truncated);
}

TEST(ParseListObjectsV2Test, EveryCutOfARealPageIsAnError) {
  // An answer cut short (a dropped connection) must never pass for a
  // shorter listing.
  for (size_t cut = 0; cut < kPage.size(); ++cut) {
    Result<ListObjectsPage> page = ParseListObjectsV2(kPage.substr(0, cut));
    EXPECT_FALSE(page.ok()) << "cut at " << cut;
  }
}

void ExpectMalformed(std::string_view xml, std::string_view why) {
  Result<ListObjectsPage> page = ParseListObjectsV2(xml);
  ASSERT_FALSE(page.ok()) << why;
  EXPECT_EQ(page.status().code(), StatusCode::kIOError) << why;
}

TEST(ParseListObjectsV2Test, HostileAnswersAreErrors) {
  const std::string open = "<ListBucketResult>";
  const std::string close = "<IsTruncated>false</IsTruncated></ListBucketResult>";
  ExpectMalformed("", "empty");
  ExpectMalformed("<Error><Code>AccessDenied</Code></Error>", "an error body");
  ExpectMalformed(open + "<Contents><Key>a</Key></Contents>" + close, "no size");
  ExpectMalformed(open + "<Contents><Size>1</Size></Contents>" + close, "no key");
  ExpectMalformed(open + "<Contents><Key></Key><Size>1</Size></Contents>" + close, "empty key");
  ExpectMalformed(
      open + "<Contents><Key>a</Key><Size>18446744073709551616</Size></Contents>" + close,
      "size one past 2^64-1");
  ExpectMalformed(
      open + "<Contents><Key>a</Key><Size>99999999999999999999999</Size></Contents>" + close,
      "huge size");
  ExpectMalformed(open + "<Contents><Key>a</Key><Size>-1</Size></Contents>" + close, "negative");
  ExpectMalformed(open + "<Contents><Key>a</Key><Size> 1</Size></Contents>" + close, "space");
  ExpectMalformed(open + "<Contents><Key>a</Key><Size>1</Size>" + close, "Contents not closed");
  ExpectMalformed(open + "<Contents><Key>a<Size>1</Size></Contents>" + close, "Key not closed");
  ExpectMalformed(open + "<Contents><Key>a&bogus;</Key><Size>1</Size></Contents>" + close,
                  "unknown entity");
  ExpectMalformed(open + "<Contents><Key>a&amp</Key><Size>1</Size></Contents>" + close,
                  "unterminated entity");
  ExpectMalformed(open + "<Contents><Key>&#0;</Key><Size>1</Size></Contents>" + close, "NUL");
  ExpectMalformed(open + "<Contents><Key>&#xD800;</Key><Size>1</Size></Contents>" + close,
                  "surrogate");
  ExpectMalformed(open + "<Contents><Key>&#x110000;</Key><Size>1</Size></Contents>" + close,
                  "beyond Unicode");
  ExpectMalformed(open + "<Contents><Key>&#99999999999;</Key><Size>1</Size></Contents>" + close,
                  "huge reference");
  ExpectMalformed(open + "</ListBucketResult>", "no IsTruncated");
  ExpectMalformed(open + "<IsTruncated>maybe</IsTruncated></ListBucketResult>", "bad bool");
  ExpectMalformed(open + "<IsTruncated>true</IsTruncated></ListBucketResult>",
                  "truncated without a token");
  ExpectMalformed(
      open + "<IsTruncated>true</IsTruncated><NextContinuationToken></NextContinuationToken>" +
          "</ListBucketResult>",
      "empty token");
  ExpectMalformed("</ListBucketResult><ListBucketResult><IsTruncated>false</IsTruncated>",
                  "closing before opening");
}

TEST(ParseListObjectsV2Test, AKeyCannotPassForTheTopLevelFlag) {
  // An entry's text is looked at only inside its <Contents>.
  ASSERT_OK_AND_ASSIGN(ListObjectsPage page,
                       ParseListObjectsV2("<ListBucketResult><Contents><Key>k</Key><Size>1</Size>"
                                          "<IsTruncated>true</IsTruncated></Contents>"
                                          "<IsTruncated>false</IsTruncated></ListBucketResult>"));
  EXPECT_FALSE(page.is_truncated);
  ASSERT_EQ(page.entries.size(), 1u);
}

TEST(ParseListObjectsV2Test, ManyEntries) {
  std::string xml = "<ListBucketResult>";
  for (int i = 0; i < 10'000; ++i) {
    xml += "<Contents><Key>k" + std::to_string(i) + "</Key><Size>" + std::to_string(i) +
           "</Size></Contents>";
  }
  xml += "<IsTruncated>false</IsTruncated></ListBucketResult>";
  ASSERT_OK_AND_ASSIGN(ListObjectsPage page, ParseListObjectsV2(xml));
  ASSERT_EQ(page.entries.size(), 10'000u);
  EXPECT_EQ(page.entries[9'999].key, "k9999");
  EXPECT_EQ(page.entries[9'999].size, 9'999u);
}

TEST(ParseS3ErrorTest, CodeAndMessage) {
  const S3ErrorBody error = ParseS3Error(
      R"(<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code>)"
      R"(<Message>The key &quot;x&quot; does not exist</Message><BucketName>b</BucketName></Error>)");
  EXPECT_EQ(error.code, "NoSuchKey");
  EXPECT_EQ(error.message, "The key \"x\" does not exist");
}

TEST(ParseS3ErrorTest, AnythingElseGivesEmptyFields) {
  for (std::string_view body : {"", "<html>502 Bad Gateway</html>", "<Error><Code>Cut",
                                "<Error><Code>&bogus;</Code></Error>"}) {
    const S3ErrorBody error = ParseS3Error(body);
    EXPECT_TRUE(error.code.empty()) << body;
    EXPECT_TRUE(error.message.empty()) << body;
  }
}

TEST(ParseS3ErrorTest, LongMessagesAreCut) {
  const S3ErrorBody error = ParseS3Error("<Error><Code>X</Code><Message>" +
                                         std::string(10'000, 'm') + "</Message></Error>");
  EXPECT_EQ(error.message.size(), 200u);
}

TEST(XmlUnescapeTest, DecodesEntitiesAndReferences) {
  ASSERT_OK_AND_ASSIGN(std::string text, XmlUnescape("a&amp;&#65;&#x42;&#x1F600;z"));
  EXPECT_EQ(text, "a&AB\xf0\x9f\x98\x80z");
}

}  // namespace
}  // namespace re2po
