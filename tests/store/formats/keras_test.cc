#include "store/formats/keras.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/store/formats/parser_checks.h"
#include "tests/testutil/testutil.h"

namespace re2po::testing {
namespace {

// A Keras 3 style archive (Keras itself is not installed): config.json and
// metadata.json deflated, model.weights.h5 stored or deflated.
constexpr char kArchiveScript[] = R"PY(
import h5py, io, json, numpy as np, sys, zipfile
buf = io.BytesIO()
kernel = np.arange(24, dtype=np.float32).reshape(4, 6)
with h5py.File(buf, "w") as f:
  f.create_dataset("layers/dense/vars/0", data=kernel)
  f.create_dataset("layers/dense/vars/1", data=np.ones(6, np.float32))
for name, method in (("stored.keras", zipfile.ZIP_STORED), ("deflated.keras", zipfile.ZIP_DEFLATED)):
  with zipfile.ZipFile(sys.argv[1] + "/" + name, "w") as z:
    z.writestr("metadata.json", json.dumps({"keras_version": "3.0.0"}), zipfile.ZIP_DEFLATED)
    z.writestr("config.json", json.dumps({"class_name": "Sequential"}), zipfile.ZIP_DEFLATED)
    z.writestr("model.weights.h5", buf.getvalue(), method)
print(json.dumps({"/layers/dense/vars/0": kernel.tobytes().hex(),
                  "/layers/dense/vars/1": np.ones(6, np.float32).tobytes().hex()}))
)PY";

class KerasArchive : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PythonHasModules({"h5py", "numpy"})) GTEST_SKIP() << "/usr/bin/python3 lacks h5py";
    CommandResult run = RunPython(dir_, kArchiveScript, ShellQuote(dir_.path().string()));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    expected_ = nlohmann::json::parse(run.out);
  }
  TempDir dir_;
  nlohmann::json expected_;
};

TEST_F(KerasArchive, StoredWeightsAreShiftedToFileOffsets) {
  const std::vector<uint8_t> bytes = ReadFileBytes(dir_.path() / "stored.keras");
  Result<ParsedFile> parsed = ParseKeras(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->format, "keras");
  ASSERT_EQ(parsed->segments.size(), 2u);
  ExpectSortedDisjointInBounds(parsed->segments, bytes.size());
  for (const Segment& s : parsed->segments) {
    EXPECT_EQ(SliceOf(bytes, s), FromHex(expected_[s.name].get<std::string>())) << s.name;
  }
  EXPECT_TRUE(KerasFormat().sniff("model.keras", ByteSpan(bytes.data(), 64)));
  EXPECT_FALSE(KerasFormat().sniff("model.zip", ByteSpan(bytes.data(), 64)));
  ExpectEveryPrefixSafe(&ParseKeras, bytes);
}

TEST_F(KerasArchive, DeflatedWeightsAreReportedNotGuessed) {
  Result<ParsedFile> parsed = ParseKeras(ReadFileBytes(dir_.path() / "deflated.keras"));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(), "keras: weights entry is compressed");
}

}  // namespace
}  // namespace re2po::testing
