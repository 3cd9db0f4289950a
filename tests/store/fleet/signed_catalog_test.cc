// Catalog objects: sealed by a publisher, opened by nodes that trust one
// key; unsigned, foreign or tampered objects are refused, saying which.
#include "store/fleet/signed_catalog.h"

#include "store/fleet/remote_keys.h"
#include "tests/testutil/status_testutil.h"

namespace re2po {
namespace {

CatalogHead SampleHead() {
  CatalogHead head;
  head.generation = 7;
  head.time_ms = 1'700'000'000'000;
  head.records = {remote_keys::NewLogRecord(1), remote_keys::NewLogRecord(2)};
  Digest object;
  object.bytes.fill(4);
  head.entries.push_back({"bert", 2, object, 1234, head.records[0]});
  return head;
}

TEST(SignedCatalogTest, HeadsAndRecordsRoundTrip) {
  const CatalogHead head = SampleHead();
  ASSERT_OK_AND_ASSIGN(CatalogHead decoded, CatalogHead::Decode(head.Encode()));
  EXPECT_EQ(decoded.generation, 7u);
  EXPECT_EQ(decoded.records, head.records);
  ASSERT_EQ(decoded.entries.size(), 1u);
  EXPECT_EQ(decoded.entries[0].model, "bert");
  EXPECT_EQ(decoded.entries[0].origin, head.records[0]);
  LogRecord record;
  record.time_ms = -5;
  record.added = {{"m", 1, head.entries[0].object, 9, ""}};
  ASSERT_OK_AND_ASSIGN(LogRecord back, LogRecord::Decode(record.Encode()));
  EXPECT_EQ(back.time_ms, -5);
  EXPECT_EQ(back.added[0].version, 1u);
  for (size_t length = 0; length < head.Encode().size(); ++length) {
    EXPECT_FALSE(CatalogHead::Decode(head.Encode().substr(0, length)).ok()) << length;
  }
}

TEST(SignedCatalogTest, AccessRoundTripsInFormatTwoThatOlderReadersRefuse) {
  CatalogHead head = SampleHead();
  EXPECT_EQ(head.Encode()[0], 1) << "without access, readers older than access still read heads";
  ModelAccess access;
  access.gid = 2002;
  access.mode = 0710;
  access.hidden = true;
  head.access.push_back({"bert", access, 1'700'000'000'123, head.records[1]});
  const std::string bytes = head.Encode();
  EXPECT_EQ(bytes[0], 2);
  ASSERT_OK_AND_ASSIGN(CatalogHead decoded, CatalogHead::Decode(bytes));
  ASSERT_EQ(decoded.access.size(), 1u);
  EXPECT_EQ(decoded.access[0].model, "bert");
  EXPECT_EQ(decoded.access[0].access, access);
  EXPECT_EQ(decoded.access[0].set_ms, 1'700'000'000'123);
  EXPECT_EQ(decoded.access[0].origin, head.records[1]);
  for (size_t length = 0; length < bytes.size(); ++length) {
    EXPECT_FALSE(CatalogHead::Decode(bytes.substr(0, length)).ok()) << length;
  }

  LogRecord record;
  record.time_ms = 42;
  record.access.push_back({"bert", access, 0, ""});
  ASSERT_OK_AND_ASSIGN(LogRecord back, LogRecord::Decode(record.Encode()));
  ASSERT_EQ(back.access.size(), 1u);
  EXPECT_EQ(back.access[0].access, access);
  EXPECT_TRUE(back.added.empty());
}

TEST(SignedCatalogTest, TheLaterAccessWinsWhateverOrderItIsSeenIn) {
  AccessEntry early{"m", {}, 100, remote_keys::NewLogRecord(100)};
  AccessEntry late{"m", {}, 200, remote_keys::NewLogRecord(200)};
  EXPECT_TRUE(late.NewerThan(early));
  EXPECT_FALSE(early.NewerThan(late));
  AccessEntry tie = early;
  tie.origin = early.origin + "z";
  EXPECT_TRUE(tie.NewerThan(early));
  EXPECT_FALSE(early.NewerThan(early));
}

TEST(SignedCatalogTest, ATrustingNodeAcceptsOnlyItsPublishersSignature) {
  ASSERT_OK_AND_ASSIGN(SigningKey publisher, SigningKey::Generate());
  ASSERT_OK_AND_ASSIGN(SigningKey stranger, SigningKey::Generate());
  const std::string body = SampleHead().Encode();
  const PublicKey& trusted = publisher.public_key();

  ASSERT_OK_AND_ASSIGN(std::string signed_head,
                       SealCatalogObject(SignedKind::kHead, body, &publisher));
  ASSERT_OK_AND_ASSIGN(OpenedCatalogObject opened,
                       OpenCatalogObject(SignedKind::kHead, signed_head, &trusted));
  EXPECT_EQ(opened.body, body);
  EXPECT_EQ(opened.signer, trusted.Id());

  ASSERT_OK_AND_ASSIGN(std::string unsigned_head,
                       SealCatalogObject(SignedKind::kHead, body, nullptr));
  auto refused = OpenCatalogObject(SignedKind::kHead, unsigned_head, &trusted);
  EXPECT_STATUS_CODE(StatusCode::kPermissionDenied, refused);
  EXPECT_NE(refused.status().message().find("unsigned"), std::string::npos);
  EXPECT_TRUE(OpenCatalogObject(SignedKind::kHead, unsigned_head, nullptr).ok());

  ASSERT_OK_AND_ASSIGN(std::string foreign, SealCatalogObject(SignedKind::kHead, body, &stranger));
  auto wrong_key = OpenCatalogObject(SignedKind::kHead, foreign, &trusted);
  EXPECT_STATUS_CODE(StatusCode::kPermissionDenied, wrong_key);
  EXPECT_NE(wrong_key.status().message().find(stranger.public_key().Id()), std::string::npos);

  std::string tampered = signed_head;
  tampered[12] ^= 1;  // inside the body
  EXPECT_STATUS_CODE(StatusCode::kPermissionDenied,
                     OpenCatalogObject(SignedKind::kHead, tampered, &trusted));
  // A record's signature does not make a head.
  ASSERT_OK_AND_ASSIGN(std::string record,
                       SealCatalogObject(SignedKind::kLogRecord, body, &publisher));
  EXPECT_FALSE(OpenCatalogObject(SignedKind::kHead, record, &trusted).ok());
}

TEST(SignedCatalogTest, LogRecordNamesSortByTimeAndNeverRepeat) {
  const std::string early = remote_keys::NewLogRecord(5);
  const std::string late = remote_keys::NewLogRecord(1'700'000'000'000);
  EXPECT_LT(early, late);
  EXPECT_NE(remote_keys::NewLogRecord(5), remote_keys::NewLogRecord(5));
  EXPECT_TRUE(remote_keys::IsLogRecord(early));
  EXPECT_FALSE(remote_keys::IsLogRecord("log/../head"));
  EXPECT_FALSE(remote_keys::IsLogRecord("log/00000000000000000005-zzzzzzzzzzzzzzzz"));
}

}  // namespace
}  // namespace re2po
