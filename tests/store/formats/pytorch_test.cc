#include "store/formats/pytorch.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "store/formats/torch_pickle.h"
#include "store/formats/wire/pickle_reader.h"
#include "store/formats/wire/zip_reader.h"
#include "tests/store/formats/parser_checks.h"
#include "tests/testutil/testutil.h"

namespace re2po::testing {
namespace {

// Saves one state dict in both torch.save formats and prints, per tensor
// name, its storage's bytes as hex (views share their base's storage).
constexpr char kSaveScript[] = R"PY(
import ctypes, json, sys, torch
torch.manual_seed(7)
base = torch.randn(6, 5)
sd = {
  "conv.weight": torch.randn(4, 3, 2, 2),
  "conv.bias": torch.arange(4, dtype=torch.float16),
  "steps": torch.tensor([3, 1, 4], dtype=torch.int64),
  "mask": torch.tensor([True, False, True]),
  "half": torch.ones(3, dtype=torch.bfloat16),
  "base": base,
  "view": base[2:4],
  "nested": {"inner": torch.full((2,), 9, dtype=torch.int32)},
}
torch.save(sd, sys.argv[1] + "/zip.pt")
torch.save(sd, sys.argv[1] + "/legacy.pt", _use_new_zipfile_serialization=False)
def storage_hex(t):
  s = t.storage()
  return ctypes.string_at(s.data_ptr(), s.nbytes()).hex()
out = {k: storage_hex(v) for k, v in sd.items() if torch.is_tensor(v)}
out["nested.inner"] = storage_hex(sd["nested"]["inner"])
print(json.dumps(out))
)PY";

class PytorchGenerated : public ::testing::Test {
 protected:
  // torch takes seconds to import: write the files once for the suite.
  static void SetUpTestSuite() {
    if (!PythonHasModules({"torch"})) return;
    dir_ = std::make_unique<TempDir>();
    run_ = std::make_unique<CommandResult>(
        RunPython(*dir_, kSaveScript, ShellQuote(dir_->path().string())));
  }
  static void TearDownTestSuite() {
    dir_.reset();
    run_.reset();
  }

  void SetUp() override {
    if (dir_ == nullptr) GTEST_SKIP() << "/usr/bin/python3 lacks torch";
    ASSERT_EQ(run_->exit_code, 0) << run_->err;
    expected_ = nlohmann::json::parse(run_->out);
  }

  // Every storage appears once, under the first tensor name that uses it,
  // and its bytes are exactly what torch wrote.
  void CheckFile(const std::string& name, const std::string& format) {
    const std::vector<uint8_t> bytes = ReadFileBytes(dir_->path() / name);
    Result<ParsedFile> parsed = ParsePytorch(bytes);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(parsed->format, format);
    ExpectSortedDisjointInBounds(parsed->segments, bytes.size());
    std::map<std::string, const Segment*> by_name;
    for (const Segment& s : parsed->segments) by_name[s.name] = &s;
    EXPECT_EQ(by_name.size(), 7u) << "base and view share one storage";
    EXPECT_EQ(by_name.count("view"), 0u);
    for (const auto& [tensor, hex] : expected_.items()) {
      if (tensor == "view") continue;
      ASSERT_TRUE(by_name.count(tensor)) << tensor;
      EXPECT_EQ(SliceOf(bytes, *by_name[tensor]), FromHex(hex.get<std::string>())) << tensor;
    }
    EXPECT_EQ(by_name["conv.weight"]->dtype, DType::kF32);
    EXPECT_EQ(by_name["conv.weight"]->shape, (std::vector<int64_t>{4, 3, 2, 2}));
    EXPECT_EQ(by_name["conv.bias"]->dtype, DType::kF16);
    EXPECT_EQ(by_name["steps"]->dtype, DType::kI64);
    EXPECT_EQ(by_name["mask"]->dtype, DType::kBool);
    EXPECT_EQ(by_name["half"]->dtype, DType::kBF16);
    EXPECT_EQ(by_name["nested.inner"]->native_dtype, "IntStorage");
  }

  static inline std::unique_ptr<TempDir> dir_;
  static inline std::unique_ptr<CommandResult> run_;
  nlohmann::json expected_;
};

TEST_F(PytorchGenerated, ZipStoragesMatchTorchBytes) {
  CheckFile("zip.pt", "pytorch-zip");
  const std::vector<uint8_t> bytes = ReadFileBytes(dir_->path() / "zip.pt");
  Result<ParsedFile> parsed = ParsePytorch(bytes);
  ASSERT_TRUE(parsed.ok());
  for (const Segment& s : parsed->segments) {
    EXPECT_EQ(s.offset % 64, 0u) << s.name << ": torch aligns stored records to 64";
  }
}

TEST_F(PytorchGenerated, LegacyStoragesMatchTorchBytes) {
  CheckFile("legacy.pt", "pytorch-legacy");
}

TEST_F(PytorchGenerated, EveryPrefixOfBothFormatsIsSafe) {
  for (const char* name : {"zip.pt", "legacy.pt"}) {
    ExpectEveryPrefixSafe(&ParsePytorch, ReadFileBytes(dir_->path() / name));
  }
}

TEST(PytorchFixtures, CandleZipCheckpoints) {
  REQUIRE_FIXTURE(path, "pytorch/candle/test_with_key.pt");
  const std::vector<uint8_t> bytes = ReadFileBytes(path);
  Result<ParsedFile> parsed = ParsePytorch(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->segments.size(), 1u);
  const Segment& s = parsed->segments[0];
  EXPECT_EQ(s.name, "model_state_dict.test");
  EXPECT_EQ(s.dtype, DType::kI64);
  EXPECT_EQ(s.shape, (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(s.length, 64u);
  EXPECT_EQ(s.offset % 64, 0u);
  // config.pt holds no tensors at all.
  REQUIRE_FIXTURE(config, "pytorch/candle/config.pt");
  Result<ParsedFile> none = ParsePytorch(ReadFileBytes(config));
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->segments.empty());
}

TEST(PytorchFixtures, LegacySliceHasOneStorageAt419) {
  REQUIRE_FIXTURE(path, "pytorch/legacy_pickle_jl/slice.bin");
  const std::vector<uint8_t> bytes = ReadFileBytes(path);
  Result<ParsedFile> parsed = ParsePytorch(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->segments.size(), 1u);
  EXPECT_EQ(parsed->segments[0].offset, 419u);
  EXPECT_EQ(parsed->segments[0].length, 40u);
  EXPECT_EQ(parsed->segments[0].dtype, DType::kF32);
  ExpectEveryPrefixSafe(&ParsePytorch, bytes);
}

TEST(PytorchFixtures, UnreadablePickleStillYieldsStorages) {
  REQUIRE_FIXTURE(path, "pytorch/candle/test.pt");
  std::vector<uint8_t> bytes = ReadFileBytes(path);
  Result<std::vector<ZipEntry>> entries = ReadZipDirectory(bytes);
  ASSERT_TRUE(entries.ok());
  for (const ZipEntry& e : *entries) {
    if (e.name.ends_with("data.pkl")) bytes[e.data_offset + 2] = 0xff;  // not an opcode
  }
  Result<ParsedFile> parsed = ParsePytorch(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->segments.size(), 1u);
  EXPECT_EQ(parsed->segments[0].name, "data/0");
  EXPECT_EQ(parsed->segments[0].dtype, DType::kUnknown);
}

TEST(PytorchHostile, LegacyStorageClaimingTooManyElementsFails) {
  REQUIRE_FIXTURE(path, "pytorch/legacy_pickle_jl/slice.bin");
  std::vector<uint8_t> bytes = ReadFileBytes(path);
  const uint64_t absurd = uint64_t{1} << 61;
  std::memcpy(bytes.data() + 411, &absurd, 8);  // the numel before offset 419
  Result<ParsedFile> parsed = ParsePytorch(bytes);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("past end of file"), std::string::npos)
      << parsed.status().message();
}

TEST(PicklePickle, DeepNestingAndLongStreamsAreBounded) {
  std::vector<uint8_t> marks(200000, '(');
  marks.insert(marks.begin(), {0x80, 0x02});
  EXPECT_FALSE(ReadPickle(marks, 0).ok());
  std::vector<uint8_t> nones(100000, 'N');
  nones.push_back('.');
  Result<Pickle> many = ReadPickle(nones, 0, PickleLimits{1000, 1000});
  ASSERT_FALSE(many.ok());
  EXPECT_NE(many.status().message().find("1000"), std::string::npos);
  const std::vector<uint8_t> long_string = {'X', 0xff, 0xff, 0xff, 0x7f, 'a', '.'};
  EXPECT_FALSE(ReadPickle(long_string, 0).ok());
}

// Found by the long fuzz run: a pickle whose objects share children (memo
// GETs) has exponentially many paths; walking every path spent the walk's
// whole budget (seconds on 2 KB) and left later tensors unnamed. Each object
// is walked once: list 40 holds list 39 twice, and so on down to list 0, and
// the tensor after it is still named.
TEST(PicklePickle, SharedObjectsAreWalkedOnce) {
  std::vector<uint8_t> bytes = {0x80, 0x02, '}', '('};
  auto unicode = [&](std::string_view text) {
    bytes.push_back('X');
    for (int shift = 0; shift < 32; shift += 8) bytes.push_back((text.size() >> shift) & 0xff);
    bytes.insert(bytes.end(), text.begin(), text.end());
  };
  auto global = [&](std::string_view module_and_name) {
    bytes.push_back('c');
    bytes.insert(bytes.end(), module_and_name.begin(), module_and_name.end());
  };
  unicode("a");
  bytes.insert(bytes.end(), {']', 'q', 1, '0'});  // list 0, memo 1
  for (uint8_t level = 1; level <= 40; ++level) {
    bytes.insert(bytes.end(),
                 {'(', 'h', level, 'h', level, 'l', 'q', static_cast<uint8_t>(level + 1), '0'});
  }
  bytes.insert(bytes.end(), {'h', 41});
  unicode("b");
  global("torch._utils\n_rebuild_tensor_v2\n");
  bytes.insert(bytes.end(), {'(', '('});
  unicode("storage");
  global("torch\nFloatStorage\n");
  unicode("0");
  unicode("cpu");
  bytes.insert(bytes.end(), {'K', 4, 't', 'Q', 'K', 0, 'K', 4, 0x85, 'K', 1, 0x85, 0x89, '}', 't',
                             'R', 'u', '.'});
  Result<Pickle> pickle = ReadPickle(bytes, 0);
  ASSERT_TRUE(pickle.ok()) << pickle.status().ToString();
  Result<TorchStorageMap> collected = CollectTorchStorages(*pickle);
  ASSERT_TRUE(collected.ok()) << collected.status().ToString();
  TorchStorageMap& storages = *collected;
  ASSERT_EQ(storages.count("0"), 1u);
  EXPECT_EQ(storages["0"].tensor_name, "b");
  EXPECT_EQ(storages["0"].shape, std::vector<int64_t>{4});
}

}  // namespace
}  // namespace re2po::testing
