// Property tests of the chunkers on random bytes and random segment layouts:
// exact coverage, CDC size bounds, tensor pieces aligned to the tensor start,
// no chunk across a segment boundary, and CDC shift resistance.
#include "store/import/chunker.h"

#include <algorithm>
#include <random>
#include <unordered_set>
#include <vector>

#include "store/base/digest.h"
#include "store/formats/segments.h"
#include "tests/testutil/status_testutil.h"

namespace re2po {
namespace {

using testing::RandomBytes;
using testing::Scaled;

class ChunkerTest : public ::testing::Test {
 protected:
  // Chunks are in order and cover [0, size) exactly once.
  static void ExpectExactCover(const std::vector<PlannedChunk>& chunks, uint64_t size) {
    uint64_t cursor = 0;
    for (size_t i = 0; i < chunks.size(); ++i) {
      ASSERT_EQ(chunks[i].offset, cursor) << "chunk " << i << " leaves a gap or overlaps";
      ASSERT_GT(chunks[i].length, 0u) << "chunk " << i << " is empty";
      cursor += chunks[i].length;
    }
    EXPECT_EQ(cursor, size);
  }

  static void ExpectCdcSizes(const std::vector<PlannedChunk>& chunks, const CdcParams& params) {
    for (size_t i = 0; i < chunks.size(); ++i) {
      EXPECT_LE(chunks[i].length, params.max_size) << "chunk " << i;
      if (i + 1 < chunks.size()) {
        EXPECT_GE(chunks[i].length, params.min_size) << "chunk " << i;
      }
    }
  }

  static std::unordered_set<Digest, DigestHash> ChunkDigests(const std::vector<uint8_t>& bytes,
                                                             const std::vector<PlannedChunk>& c) {
    std::unordered_set<Digest, DigestHash> digests;
    for (const PlannedChunk& chunk : c) {
      digests.insert(Sha256Of(ByteSpan(bytes).subspan(chunk.offset, chunk.length)));
    }
    return digests;
  }

  // A random layout of tensors (some empty, some bigger than one piece,
  // some adjacent) separated by random gaps, normalised like the planner does.
  static std::vector<Segment> RandomLayout(std::mt19937_64& rng, uint64_t file_size) {
    std::vector<Segment> tensors;
    uint64_t cursor = 0;
    while (true) {
      uint64_t gap = rng() % 3 == 0 ? 0 : rng() % 100000;
      uint64_t length =
          rng() % 4 == 0 ? kTensorPieceSize * (1 + rng() % 3) + rng() % 5000 : rng() % 300000;
      if (rng() % 10 == 0) length = 0;
      if (cursor + gap + length > file_size) break;
      Segment tensor;
      tensor.offset = cursor + gap;
      tensor.length = length;
      tensor.kind = SegmentKind::kTensor;
      tensor.name = "t" + std::to_string(tensors.size());
      tensor.dtype = static_cast<DType>(1 + rng() % 3);
      tensors.push_back(tensor);
      cursor = tensor.end();
    }
    std::shuffle(tensors.begin(), tensors.end(), rng);
    auto normalized = NormalizeSegments(std::move(tensors), file_size);
    EXPECT_TRUE(normalized.ok()) << normalized.status().ToString();
    return normalized.ok() ? std::move(normalized).value() : std::vector<Segment>{};
  }
};

TEST_F(ChunkerTest, GenericCoversRandomDataWithinSizeBounds) {
  CdcParams params;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    std::vector<uint8_t> bytes = RandomBytes(Scaled(6 << 20, 2 << 20) + seed * 777, seed);
    auto chunks = MakeGenericChunker(params)->Cut(bytes, {});
    ExpectExactCover(chunks, bytes.size());
    ExpectCdcSizes(chunks, params);
    for (const PlannedChunk& chunk : chunks) EXPECT_EQ(chunk.dtype, DType::kUnknown);
  }
}

TEST_F(ChunkerTest, GenericHonoursCustomParameters) {
  CdcParams params{1024, 4096, 16384};
  std::vector<uint8_t> bytes = RandomBytes(3 << 20, 99);
  auto chunks = MakeGenericChunker(params)->Cut(bytes, {});
  ExpectExactCover(chunks, bytes.size());
  ExpectCdcSizes(chunks, params);
  // Normalised chunking keeps the mean near the average.
  double mean = static_cast<double>(bytes.size()) / static_cast<double>(chunks.size());
  EXPECT_GT(mean, params.avg_size / 2.0);
  EXPECT_LT(mean, params.avg_size * 2.0);
}

TEST_F(ChunkerTest, GenericOnConstantDataRepeatsOneChunk) {
  // The cut point depends only on the bytes after the previous cut, so a
  // constant run yields equal chunks: one stored chunk for all of them.
  CdcParams params;
  std::vector<uint8_t> zeros(4 << 20, 0);
  auto chunks = MakeGenericChunker(params)->Cut(zeros, {});
  ExpectExactCover(chunks, zeros.size());
  ExpectCdcSizes(chunks, params);
  ASSERT_GT(chunks.size(), 2u);
  for (size_t i = 0; i + 1 < chunks.size(); ++i) EXPECT_EQ(chunks[i].length, chunks[0].length);
}

TEST_F(ChunkerTest, GenericSmallAndEmptyInputs) {
  auto chunker = MakeGenericChunker();
  EXPECT_TRUE(chunker->Cut({}, {}).empty());
  for (size_t size : {size_t{1}, size_t{4095}, size_t{16 * 1024}, size_t{16 * 1024 + 1}}) {
    std::vector<uint8_t> bytes = RandomBytes(size, size);
    auto chunks = chunker->Cut(bytes, {});
    ExpectExactCover(chunks, size);
  }
  std::vector<uint8_t> tiny = RandomBytes(1000, 3);
  EXPECT_EQ(chunker->Cut(tiny, {}).size(), 1u);
}

TEST_F(ChunkerTest, GenericIsDeterministic) {
  std::vector<uint8_t> bytes = RandomBytes(2 << 20, 5);
  auto first = MakeGenericChunker()->Cut(bytes, {});
  auto second = MakeGenericChunker()->Cut(bytes, {});
  ASSERT_EQ(first.size(), second.size());
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].offset, second[i].offset);
    EXPECT_EQ(first[i].length, second[i].length);
  }
}

TEST_F(ChunkerTest, CutContentDefinedShiftsByBase) {
  std::vector<uint8_t> bytes = RandomBytes(1 << 20, 8);
  std::vector<PlannedChunk> plain, shifted;
  CutContentDefined(bytes, 0, CdcParams{}, plain);
  shifted.push_back({0, 5000, DType::kUnknown});  // appends, keeps what is there
  CutContentDefined(bytes, 5000, CdcParams{}, shifted);
  ASSERT_EQ(shifted.size(), plain.size() + 1);
  for (size_t i = 0; i < plain.size(); ++i) {
    EXPECT_EQ(shifted[i + 1].offset, plain[i].offset + 5000);
    EXPECT_EQ(shifted[i + 1].length, plain[i].length);
  }
}

TEST_F(ChunkerTest, GenericResistsAnInsertionAtTheFront) {
  std::vector<uint8_t> original = RandomBytes(Scaled(16 << 20, 4 << 20), 11);
  std::vector<uint8_t> shifted = RandomBytes(100, 12);
  shifted.insert(shifted.end(), original.begin(), original.end());
  auto chunker = MakeGenericChunker();
  auto before = chunker->Cut(original, {});
  auto after = chunker->Cut(shifted, {});
  auto known = ChunkDigests(original, before);
  size_t same = 0;
  for (const PlannedChunk& chunk : after) {
    same += known.contains(Sha256Of(ByteSpan(shifted).subspan(chunk.offset, chunk.length)));
  }
  EXPECT_GT(static_cast<double>(same), 0.9 * static_cast<double>(after.size()))
      << same << " of " << after.size() << " chunks unchanged";
}

TEST_F(ChunkerTest, TensorAwareCoversRandomLayouts) {
  std::mt19937_64 rng(2024);
  CdcParams params;
  auto chunker = MakeTensorAwareChunker(params);
  for (int round = 0; round < static_cast<int>(Scaled(12, 4)); ++round) {
    uint64_t size = 1 + rng() % Scaled(8 << 20, 3 << 20);
    std::vector<uint8_t> bytes = RandomBytes(size, rng());
    std::vector<Segment> segments = RandomLayout(rng, size);
    auto chunks = chunker->Cut(bytes, segments);
    ExpectExactCover(chunks, size);

    // Walk the segments and the chunks together.
    size_t c = 0;
    for (const Segment& segment : segments) {
      std::vector<PlannedChunk> inside;
      while (c < chunks.size() && chunks[c].offset < segment.end()) {
        ASSERT_GE(chunks[c].offset, segment.offset);
        ASSERT_LE(chunks[c].offset + chunks[c].length, segment.end())
            << "chunk at " << chunks[c].offset << " straddles the end of segment '" << segment.name
            << "' at " << segment.end();
        inside.push_back(chunks[c++]);
      }
      if (segment.kind == SegmentKind::kTensor) {
        uint64_t pieces = (segment.length + kTensorPieceSize - 1) / kTensorPieceSize;
        ASSERT_EQ(inside.size(), pieces) << segment.name;
        for (size_t p = 0; p < inside.size(); ++p) {
          EXPECT_EQ(inside[p].offset, segment.offset + p * kTensorPieceSize);
          EXPECT_EQ(inside[p].length,
                    std::min(kTensorPieceSize, segment.length - p * kTensorPieceSize));
          EXPECT_EQ(inside[p].dtype, segment.dtype);
        }
      } else {
        ExpectCdcSizes(inside, params);  // the last of each metadata run may be short
      }
    }
    EXPECT_EQ(c, chunks.size());
  }
}

TEST_F(ChunkerTest, SameTensorYieldsSameChunksWhereverItSits) {
  std::vector<uint8_t> tensor = RandomBytes(kTensorPieceSize * 2 + 12345, 77);
  std::unordered_set<Digest, DigestHash> first_digests;
  for (uint64_t prefix : {uint64_t{100}, uint64_t{70001}}) {
    std::vector<uint8_t> file = RandomBytes(prefix, prefix);
    file.insert(file.end(), tensor.begin(), tensor.end());
    Segment segment;
    segment.offset = prefix;
    segment.length = tensor.size();
    segment.kind = SegmentKind::kTensor;
    ASSERT_OK_AND_ASSIGN(auto segments, NormalizeSegments({segment}, file.size()));
    auto chunks = MakeTensorAwareChunker()->Cut(file, segments);
    std::unordered_set<Digest, DigestHash> digests;
    for (const PlannedChunk& chunk : chunks) {
      if (chunk.offset >= prefix) {
        digests.insert(Sha256Of(ByteSpan(file).subspan(chunk.offset, chunk.length)));
      }
    }
    EXPECT_EQ(digests.size(), 3u);
    if (first_digests.empty()) {
      first_digests = digests;
    } else {
      EXPECT_EQ(digests, first_digests);
    }
  }
}

TEST_F(ChunkerTest, TensorAwareWithoutSegmentsCutsNothing) {
  // The planner always passes covering segments; none means an empty file.
  EXPECT_TRUE(MakeTensorAwareChunker()->Cut({}, {}).empty());
}

}  // namespace
}  // namespace re2po
