// DiffVersions against a real store: a second version that keeps one tensor,
// retrains one, drops one, adds one, edits a plain file and keeps another.
#include "store/diff.h"

#include <map>
#include <string>
#include <vector>

#include "store/base/coding.h"
#include "tests/store/store_fixture.h"

namespace re2po {
namespace {

using Tensors = std::map<std::string, std::vector<float>>;

// safetensors: u64 header length, JSON header, raw little-endian F32 data.
std::vector<uint8_t> DiffSafetensors(const Tensors& tensors) {
  std::string header = "{";
  uint64_t offset = 0;
  for (const auto& [name, values] : tensors) {
    if (header.size() > 1) header += ",";
    const uint64_t bytes = values.size() * sizeof(float);
    header += "\"" + name + "\":{\"dtype\":\"F32\",\"shape\":[" + std::to_string(values.size()) +
              "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + bytes) + "]}";
    offset += bytes;
  }
  header += "}";
  while (header.size() % 8 != 0) header += " ";
  std::string out;
  PutFixed64(out, header.size());
  out += header;
  for (const auto& [name, values] : tensors) {
    out.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  }
  return std::vector<uint8_t>(out.begin(), out.end());
}

std::vector<float> Values(size_t count, float first) {
  std::vector<float> values(count);
  for (size_t i = 0; i < count; ++i) values[i] = first + 0.001f * static_cast<float>(i);
  return values;
}

std::vector<std::string> Names(const DiffGroup& group) {
  std::vector<std::string> names;
  for (const DiffItem& item : group.items) names.push_back(item.name);
  return names;
}

constexpr char kReadme[] = "a model for the tests\n";
constexpr char kConfigV1[] = "{}";
constexpr char kConfigV2[] = "{\"lr\": 0.1}";

class DiffTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    const Tensors v1 = {{"a", Values(1000, 1)}, {"b", Values(2000, 2)}, {"c", Values(500, 3)}};
    const Tensors v2 = {{"a", Values(1000, 1)}, {"b", Values(2000, 5)}, {"d", Values(300, 4)}};
    ASSERT_NO_FATAL_FAILURE(ImportVersion(1, v1, kConfigV1));
    ASSERT_NO_FATAL_FAILURE(ImportVersion(2, v2, kConfigV2));
    ASSERT_OK_AND_ASSIGN(store_, Open(/*writer=*/false));
  }

  void ImportVersion(uint64_t version, const Tensors& tensors, const std::string& config) {
    const fs::path dir = src("v" + std::to_string(version));
    WriteFileBytes(dir / "model.safetensors", DiffSafetensors(tensors));
    WriteFileText(dir / "config.json", config);
    WriteFileText(dir / "README.md", kReadme);
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> writer, Open(/*writer=*/true));
    ASSERT_OK_AND_ASSIGN(ImportSummary summary, Import(*writer, "m", version, dir));
    ASSERT_EQ(summary.files_per_format["safetensors"], 1u) << "the tensors must be parsed";
  }

  Result<VersionDiff> Diff(uint64_t a, uint64_t b) {
    const auto catalog = store_->Catalog();
    return DiffVersions(*store_, *catalog->FindVersion("m", a), *catalog->FindVersion("m", b));
  }

  std::unique_ptr<Store> store_;
};

TEST_F(DiffTest, NamesWhatIsSharedChangedAddedAndRemovedWithTheirBytes) {
  ASSERT_OK_AND_ASSIGN(VersionDiff diff, Diff(1, 2));
  // Plain files are items by path, tensors by path:name; each group in name order.
  EXPECT_EQ(Names(diff.shared), (std::vector<std::string>{"README.md", "model.safetensors:a"}));
  EXPECT_EQ(diff.shared.bytes, sizeof(kReadme) - 1 + 1000 * sizeof(float));
  EXPECT_EQ(Names(diff.changed), (std::vector<std::string>{"config.json", "model.safetensors:b"}));
  EXPECT_EQ(diff.changed.bytes, sizeof(kConfigV2) - 1 + 2000 * sizeof(float))
      << "a changed item counts its new size";
  EXPECT_EQ(Names(diff.added), std::vector<std::string>{"model.safetensors:d"});
  EXPECT_EQ(diff.added.bytes, 300 * sizeof(float));
  EXPECT_EQ(Names(diff.removed), std::vector<std::string>{"model.safetensors:c"});
  EXPECT_EQ(diff.removed.bytes, 500 * sizeof(float));
}

TEST_F(DiffTest, TheOtherWayRoundSwapsAddedAndRemoved) {
  ASSERT_OK_AND_ASSIGN(VersionDiff diff, Diff(2, 1));
  EXPECT_EQ(Names(diff.added), std::vector<std::string>{"model.safetensors:c"});
  EXPECT_EQ(Names(diff.removed), std::vector<std::string>{"model.safetensors:d"});
  EXPECT_EQ(diff.changed.bytes, sizeof(kConfigV1) - 1 + 2000 * sizeof(float));
}

TEST_F(DiffTest, AVersionSharesEverythingWithItself) {
  ASSERT_OK_AND_ASSIGN(VersionDiff diff, Diff(2, 2));
  EXPECT_EQ(diff.shared.items.size(), 5u);  // README.md, config.json, a, b, d
  EXPECT_EQ(diff.shared.bytes,
            sizeof(kReadme) - 1 + sizeof(kConfigV2) - 1 + (1000 + 2000 + 300) * sizeof(float));
  EXPECT_TRUE(diff.changed.items.empty());
  EXPECT_TRUE(diff.added.items.empty());
  EXPECT_TRUE(diff.removed.items.empty());
}

}  // namespace
}  // namespace re2po
