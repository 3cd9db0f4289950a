// The last-commit record: what it encodes and what it refuses to decode.
#include "store/db/commit_record.h"

#include "tests/testutil/status_testutil.h"

namespace re2po {
namespace {

TEST(CommitRecordTest, RoundTripsAndRejectsWhatItDidNotWrite) {
  CommitRecord record{42, "MANIFEST-000017", 9001};
  std::optional<CommitRecord> decoded = DecodeCommitRecord(EncodeCommitRecord(record));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->generation, 42u);
  EXPECT_EQ(decoded->manifest, "MANIFEST-000017");
  EXPECT_EQ(decoded->manifest_size, 9001u);
  EXPECT_TRUE(DecodeCommitRecord(EncodeCommitRecord(record) + "later_key 7\n").has_value());
  for (const std::string bad :
       {"", "re2po-last-commit 2\ngeneration 1\nmanifest MANIFEST-1\nmanifest_size 1\n",
        "re2po-last-commit 1\ngeneration x\nmanifest MANIFEST-1\nmanifest_size 1\n",
        "re2po-last-commit 1\ngeneration 1\nmanifest ../MANIFEST-1\nmanifest_size 1\n",
        "re2po-last-commit 1\ngeneration 1\nmanifest MANIFEST-1\n"}) {
    EXPECT_FALSE(DecodeCommitRecord(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace re2po
