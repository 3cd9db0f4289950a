// Byte planes against a plain reference loop: every width, lengths around
// the SIMD block, and the inverse.
#include "store/chunks/byte_planes.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/testutil/testutil.h"

namespace re2po {
namespace {

TEST(BytePlanesTest, SplitMatchesTheDefinitionAndJoinInvertsIt) {
  for (size_t width : {2u, 4u, 8u}) {
    for (size_t plane_size : {1u, 15u, 16u, 17u, 31u, 64u, 1000u, 65537u}) {
      const std::vector<uint8_t> in = testing::RandomBytes(width * plane_size, width + plane_size);
      std::vector<std::vector<uint8_t>> planes(width, std::vector<uint8_t>(plane_size));
      std::vector<uint8_t*> pointers;
      for (auto& plane : planes) pointers.push_back(plane.data());
      SplitBytePlanes(in, width, pointers.data(), plane_size);
      for (size_t i = 0; i < plane_size; ++i) {
        for (size_t k = 0; k < width; ++k) {
          ASSERT_EQ(planes[k][i], in[i * width + k])
              << "width " << width << ", element " << i << ", byte " << k;
        }
      }
      std::vector<uint8_t> out(in.size(), 0);
      std::vector<const uint8_t*> sources(pointers.begin(), pointers.end());
      JoinBytePlanes(sources.data(), width, plane_size, out);
      EXPECT_TRUE(out == in) << "width " << width << ", plane size " << plane_size;
    }
  }
}

}  // namespace
}  // namespace re2po
