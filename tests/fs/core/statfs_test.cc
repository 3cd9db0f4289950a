// What df shows: a local store's logical size and file count, a node's
// disk cache against its bound.
#include "fs/core/statfs.h"

#include <gtest/gtest.h>

namespace re2po::fs {
namespace {

TEST(StatfsTest, ALocalStoreIsItsLogicalSizeAllUsed) {
  RepositorySize size;
  size.logical_bytes = 10'000;
  size.files = 3;
  const struct statvfs out = StatfsOf(size);
  EXPECT_EQ(out.f_bsize, 4096u);
  EXPECT_EQ(out.f_frsize, 4096u);
  EXPECT_EQ(out.f_blocks, 3u);  // 10,000 bytes rounded up to whole blocks
  EXPECT_EQ(out.f_bfree, 0u);   // read-only: nothing is free to write
  EXPECT_EQ(out.f_bavail, 0u);
  EXPECT_EQ(out.f_files, 3u);
  EXPECT_EQ(out.f_ffree, 0u);
  EXPECT_EQ(out.f_namemax, 255u);
}

TEST(StatfsTest, ANodeIsItsCacheAgainstItsBound) {
  RepositorySize size;
  size.logical_bytes = uint64_t{50} << 30;  // what the remote holds: not the node's disk
  size.files = 7;
  size.node = true;
  size.cache_bytes = uint64_t{1} << 30;
  size.cache_limit_bytes = uint64_t{4} << 30;
  const struct statvfs out = StatfsOf(size);
  EXPECT_EQ(out.f_blocks, (uint64_t{4} << 30) / 4096);
  EXPECT_EQ(out.f_bfree, (uint64_t{3} << 30) / 4096);
  EXPECT_EQ(out.f_bavail, out.f_bfree);
  EXPECT_EQ(out.f_files, 7u);

  size.cache_limit_bytes = 0;  // not reported: the cache is all there is
  const struct statvfs unknown = StatfsOf(size);
  EXPECT_EQ(unknown.f_blocks, (uint64_t{1} << 30) / 4096);
  EXPECT_EQ(unknown.f_bfree, 0u);
}

TEST(StatfsTest, SumsTheCatalogsVersions) {
  auto version = [](std::string model, uint64_t number, uint64_t bytes, uint64_t files) {
    VersionRecord record;
    record.model = std::move(model);
    record.version = number;
    record.logical_bytes = bytes;
    record.file_count = files;
    return record;
  };
  std::vector<ModelEntry> models(2);
  models[0].name = "a";
  models[0].id = 1;
  models[0].versions = {version("a", 1, 100, 2), version("a", 2, 300, 5)};
  models[1].name = "c";
  models[1].id = 2;
  models[1].versions = {version("c", 1, 7, 1)};
  const RepositorySize size = SizeOfCatalog(CatalogSnapshot(9, std::move(models)));
  EXPECT_EQ(size.logical_bytes, 407u);
  EXPECT_EQ(size.files, 8u);
  EXPECT_FALSE(size.node);
}

}  // namespace
}  // namespace re2po::fs
