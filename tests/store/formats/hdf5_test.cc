#include "store/formats/hdf5.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "tests/store/formats/parser_checks.h"
#include "tests/testutil/testutil.h"

namespace re2po::testing {
namespace {

// Writes datasets of several types and layouts; prints, for each dataset,
// its bytes (hex) and h5py's own offset (None when not contiguous).
constexpr char kWriteScript[] = R"PY(
import h5py, json, numpy as np, sys
rng = np.random.default_rng(3)
data = {
  "dense/kernel:0": rng.standard_normal((8, 5)).astype(np.float32),
  "dense/bias:0": np.arange(5, dtype=np.float64),
  "ids": np.array([1, -2, 3], dtype=np.int64),
  "half": np.ones((2, 3), dtype=np.float16),
  "flags": np.array([True, False, True]),
  "bytes": np.arange(7, dtype=np.uint8),
  "scalar": np.float32(2.5),
}
with h5py.File(sys.argv[1], "w") as f:
  for name, value in data.items():
    f.create_dataset(name, data=value)
  f.create_dataset("packed", data=np.zeros((64, 64), np.float32), chunks=(8, 8), compression="gzip")
  f["dense"].attrs["weight_names"] = ["kernel:0", "bias:0"]
out = {}
with h5py.File(sys.argv[1], "r") as f:
  def visit(name, obj):
    if isinstance(obj, h5py.Dataset):
      out["/" + name] = {"hex": np.asarray(obj[()]).tobytes().hex(), "offset": obj.id.get_offset()}
  f.visititems(visit)
print(json.dumps(out))
)PY";

TEST(Hdf5Generated, ContiguousDatasetsMatchH5pyBytesAndOffsets) {
  if (!PythonHasModules({"h5py", "numpy"})) GTEST_SKIP() << "/usr/bin/python3 lacks h5py";
  TempDir dir;
  const auto file = dir.path() / "model.h5";
  CommandResult run = RunPython(dir, kWriteScript, ShellQuote(file.string()));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json expected = nlohmann::json::parse(run.out);
  const std::vector<uint8_t> bytes = ReadFileBytes(file);
  Result<ParsedFile> parsed = ParseHdf5(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ExpectSortedDisjointInBounds(parsed->segments, bytes.size());
  std::map<std::string, const Segment*> by_name;
  for (const Segment& s : parsed->segments) by_name[s.name] = &s;
  EXPECT_EQ(by_name.size(), 7u);
  EXPECT_EQ(by_name.count("/packed"), 0u) << "chunked+gzip bytes are not the tensor";
  for (const auto& [name, info] : expected.items()) {
    if (info["offset"].is_null()) continue;
    ASSERT_TRUE(by_name.count(name)) << name;
    EXPECT_EQ(by_name[name]->offset, info["offset"].get<uint64_t>()) << name;
    EXPECT_EQ(SliceOf(bytes, *by_name[name]), FromHex(info["hex"].get<std::string>())) << name;
  }
  EXPECT_EQ(by_name["/dense/kernel:0"]->dtype, DType::kF32);
  EXPECT_EQ(by_name["/dense/kernel:0"]->shape, (std::vector<int64_t>{8, 5}));
  EXPECT_EQ(by_name["/dense/bias:0"]->dtype, DType::kF64);
  EXPECT_EQ(by_name["/ids"]->dtype, DType::kI64);
  EXPECT_EQ(by_name["/half"]->dtype, DType::kF16);
  EXPECT_EQ(by_name["/flags"]->dtype, DType::kBool);
  EXPECT_EQ(by_name["/bytes"]->dtype, DType::kU8);
  EXPECT_TRUE(by_name["/scalar"]->shape.empty());

  // Truncations and bit flips must fail cleanly, never crash.
  size_t failures = 0;
  for (size_t length = 0; length < bytes.size(); length += 97) {
    failures += !ParseHdf5(ByteSpan(bytes.data(), length)).ok();
  }
  EXPECT_GT(failures, 0u);
}

TEST(Hdf5Fixtures, KerasWeightsMatchH5pyOffsets) {
  REQUIRE_FIXTURE(path, "keras_h5/tflite_micro_magic_wand/weights.h5");
  const std::vector<uint8_t> bytes = ReadFileBytes(path);
  Result<ParsedFile> parsed = ParseHdf5(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->segments.size(), 8u);
  ExpectSortedDisjointInBounds(parsed->segments, bytes.size());
  uint64_t total = 0;
  for (const Segment& s : parsed->segments) {
    EXPECT_EQ(s.dtype, DType::kF32) << s.name;
    total += s.length;
  }
  EXPECT_EQ(total, (384 + 32 + 64 + 64 + 256 + 16 + 2048 + 14336u));
  EXPECT_EQ(parsed->segments.back().name, "/dense/dense/kernel:0");
  EXPECT_EQ(parsed->segments.back().shape, (std::vector<int64_t>{224, 16}));
}

// libhdf5 trusts sizes in metadata it reads: a flipped length makes it
// malloc hundreds of GB (H5C_protect). Without ASan that malloc fails and
// libhdf5 reports an error; ASan aborts on it instead, so skip there.
#if defined(__SANITIZE_ADDRESS__)
#define RE2PO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RE2PO_ASAN 1
#endif
#endif

TEST(Hdf5Hostile, BitFlipsFailCleanly) {
#ifdef RE2PO_ASAN
  GTEST_SKIP() << "libhdf5 mallocs sizes read from corrupt metadata; ASan aborts on that";
#endif
  REQUIRE_FIXTURE(path, "keras_h5/tflite_micro_magic_wand/weights.h5");
  const std::vector<uint8_t> bytes = ReadFileBytes(path);
  for (uint64_t seed = 0; seed < 200; ++seed) {
    std::vector<uint8_t> flipped = bytes;
    const std::vector<uint8_t> noise = RandomBytes(16, seed);
    for (size_t i = 0; i + 1 < noise.size(); i += 2) {
      flipped[(noise[i] * 131 + noise[i + 1] * 7 + seed * 977) % bytes.size()] ^= noise[i + 1] | 1;
    }
    Result<ParsedFile> result = ParseHdf5(flipped);
    if (result.ok()) ExpectSortedDisjointInBounds(result->segments, flipped.size());
  }
}

TEST(Hdf5Hostile, NotHdf5IsRejected) {
  const std::vector<uint8_t> junk = RandomBytes(4096, 9);
  EXPECT_FALSE(ParseHdf5(junk).ok());
  std::vector<uint8_t> signature_only = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  EXPECT_FALSE(ParseHdf5(signature_only).ok());
}

}  // namespace
}  // namespace re2po::testing
