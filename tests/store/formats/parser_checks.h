// Checks shared by the safetensors, GGUF, ONNX and TFLite parser tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "store/formats/format.h"
#include "tests/testutil/testutil.h"

namespace re2po::testing {

// Every tensor segment lies inside a file of `file_size` bytes, and the
// segments are sorted and disjoint: the contract the planner relies on.
inline void ExpectSortedDisjointInBounds(const std::vector<Segment>& segments, uint64_t file_size) {
  uint64_t previous_end = 0;
  for (const Segment& segment : segments) {
    EXPECT_GT(segment.length, 0u) << segment.name;
    EXPECT_LE(segment.offset, file_size) << segment.name;
    EXPECT_LE(segment.length, file_size - std::min(segment.offset, file_size)) << segment.name;
    EXPECT_GE(segment.offset, previous_end) << segment.name << " overlaps its predecessor";
    previous_end = segment.offset + segment.length;
  }
}

inline std::vector<uint8_t> SliceOf(const std::vector<uint8_t>& bytes, const Segment& segment) {
  return {bytes.begin() + static_cast<std::ptrdiff_t>(segment.offset),
          bytes.begin() + static_cast<std::ptrdiff_t>(segment.offset + segment.length)};
}

inline std::vector<uint8_t> FromHex(const std::string& hex) {
  std::vector<uint8_t> bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return bytes;
}

// Runs a Python script with /usr/bin/python3; its stdout is returned.
inline CommandResult RunPython(const TempDir& dir, const std::string& script,
                               const std::string& args) {
  const std::filesystem::path path = dir.path() / "script.py";
  WriteFileText(path, script);
  return RunCommand("/usr/bin/python3 " + ShellQuote(path.string()) + " " + args);
}

// Parses every proper prefix of `bytes`: each must fail cleanly or yield
// segments inside the prefix (sanitizer builds catch any stray read).
template <typename Parse>
void ExpectEveryPrefixSafe(Parse parse, const std::vector<uint8_t>& bytes) {
  size_t failures = 0;
  for (size_t length = 0; length < bytes.size(); ++length) {
    const auto parsed = parse(ByteSpan(bytes.data(), length));
    if (!parsed.ok()) {
      ++failures;
      EXPECT_FALSE(parsed.status().message().empty());
      continue;
    }
    ExpectSortedDisjointInBounds(parsed->segments, length);
  }
  EXPECT_GT(failures, 0u) << "no prefix was rejected";
}

}  // namespace re2po::testing
