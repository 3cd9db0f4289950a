#include "store/formats/wire/zip_reader.h"

#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "store/formats/wire/le_reader.h"
#include "tests/store/formats/parser_checks.h"
#include "tests/testutil/testutil.h"

namespace re2po::testing {
namespace {

// Stored and deflated entries, written once plainly and once with Zip64
// records forced; prints each entry's content as hex.
constexpr char kZipScript[] = R"PY(
import json, sys, zipfile
contents = {"a/data/0": bytes(range(200)), "a/data.pkl": b"x" * 50, "notes.txt": b"hello " * 40}
for name, zip64 in (("plain.zip", False), ("zip64.zip", True)):
  with zipfile.ZipFile(sys.argv[1] + "/" + name, "w") as z:
    for entry, data in contents.items():
      info = zipfile.ZipInfo(entry)
      info.compress_type = zipfile.ZIP_DEFLATED if entry == "notes.txt" else zipfile.ZIP_STORED
      with z.open(info, "w", force_zip64=zip64) as f:
        f.write(data)
print(json.dumps({k: v.hex() for k, v in contents.items()}))
)PY";

class ZipReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CommandResult run = RunPython(dir_, kZipScript, ShellQuote(dir_.path().string()));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    expected_ = nlohmann::json::parse(run.out);
  }
  TempDir dir_;
  nlohmann::json expected_;
};

TEST_F(ZipReaderTest, StoredEntriesPointAtTheirBytes) {
  for (const char* name : {"plain.zip", "zip64.zip"}) {
    const std::vector<uint8_t> bytes = ReadFileBytes(dir_.path() / name);
    Result<std::vector<ZipEntry>> entries = ReadZipDirectory(bytes);
    ASSERT_TRUE(entries.ok()) << name << ": " << entries.status().ToString();
    ASSERT_EQ(entries->size(), 3u);
    for (const ZipEntry& e : *entries) {
      if (e.name == "notes.txt") {
        EXPECT_FALSE(e.IsStored());
        continue;
      }
      ASSERT_TRUE(e.IsStored()) << e.name;
      const std::vector<uint8_t> data(bytes.begin() + static_cast<std::ptrdiff_t>(e.data_offset),
                                      bytes.begin() + static_cast<std::ptrdiff_t>(e.data_end()));
      EXPECT_EQ(data, FromHex(expected_[e.name].get<std::string>())) << name << " " << e.name;
    }
    size_t failures = 0;
    for (size_t length = 0; length < bytes.size(); ++length) {
      failures += !ReadZipDirectory(ByteSpan(bytes.data(), length)).ok();
    }
    EXPECT_EQ(failures, bytes.size()) << "every truncation loses the end record";
  }
}

// Offset of the central entry named `name` (its 46-byte fixed part).
size_t CentralEntry(const std::vector<uint8_t>& bytes, const std::string& name) {
  for (size_t i = 0; i + 46 + name.size() <= bytes.size(); ++i) {
    if (LoadLittleEndian<uint32_t>(bytes.data() + i) == 0x02014b50 &&
        std::memcmp(bytes.data() + i + 46, name.data(), name.size()) == 0) {
      return i;
    }
  }
  return 0;
}

TEST_F(ZipReaderTest, EntryClaimingHugeSizeIsRejected) {
  std::vector<uint8_t> bytes = ReadFileBytes(dir_.path() / "plain.zip");
  const size_t entry = CentralEntry(bytes, "a/data/0");
  ASSERT_GT(entry, 0u);
  const uint32_t huge = 0x7fffffff;
  std::memcpy(bytes.data() + entry + 20, &huge, 4);  // compressed size
  std::memcpy(bytes.data() + entry + 24, &huge, 4);  // uncompressed size
  Result<std::vector<ZipEntry>> entries = ReadZipDirectory(bytes);
  ASSERT_FALSE(entries.ok());
  EXPECT_NE(entries.status().message().find("'a/data/0' claims 2147483647 bytes past end of file"),
            std::string::npos)
      << entries.status().message();
}

TEST_F(ZipReaderTest, AbsurdEntryCountIsRejected) {
  std::vector<uint8_t> bytes = ReadFileBytes(dir_.path() / "plain.zip");
  const size_t end = bytes.size() - 22;
  ASSERT_EQ(LoadLittleEndian<uint32_t>(bytes.data() + end), 0x06054b50u);
  const uint16_t count = 0xfff0;
  std::memcpy(bytes.data() + end + 8, &count, 2);
  std::memcpy(bytes.data() + end + 10, &count, 2);
  Result<std::vector<ZipEntry>> entries = ReadZipDirectory(bytes);
  ASSERT_FALSE(entries.ok());
  EXPECT_NE(entries.status().message().find("claims 65520 entries"), std::string::npos)
      << entries.status().message();
}

}  // namespace
}  // namespace re2po::testing
