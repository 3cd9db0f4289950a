// A chunk damaged on disk reads as EIO, never as bytes; the log names the
// chunk and the file; other files read fine and the mount stays up.
#include "tests/fs/mount_fixture.h"

namespace re2po::testing {
namespace {

TEST(CorruptionTest, DamagedChunkReadsAsEioAndIsLogged) {
  REQUIRE_FUSE();
  TestStore store;
  const stdfs::path source = store.scratch() / "source";
  const std::vector<uint8_t> bad = RandomBytes(2 << 20, 666);  // random: stored raw
  WriteFileBytes(source / "damaged" / "bad.bin", bad);
  WriteFileBytes(source / "fine" / "good.bin", RandomBytes(2 << 20, 667));
  store.Import("broken", 1, source);

  // The chunk holding byte 1 MiB of bad.bin, by the store's own recipe.
  const uint64_t target = 1 << 20;
  auto recipe = store.writer().FileRecipe(Sha256Of(std::span<const uint8_t>(bad)));
  ASSERT_TRUE(recipe.ok()) << recipe.status().ToString();
  const size_t extent = (*recipe)->ExtentAt(target);
  const std::string chunk_hex = (*recipe)->extents[extent].chunk.Hex();
  store.CloseWriter();

  const std::vector<uint8_t> needle(bad.begin() + target, bad.begin() + target + 4096);
  const auto changed = FlipBytesWhereFound(store.dir() / "db", needle);
  ASSERT_FALSE(changed.empty()) << "the chunk's bytes were not found under " << store.dir();
  std::cout << "damaged chunk " << chunk_hex.substr(0, 12) << " in " << changed[0].filename()
            << "\n";

  TestMount mount(store.dir());  // a fresh mount: nothing cached
  START_MOUNT(mount);
  const int fd = ::open(mount.path("broken/1/damaged/bad.bin").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  std::vector<uint8_t> buffer(4096);
  // Bytes before the damaged chunk still read (from other chunks).
  ASSERT_EQ(PreadFully(fd, buffer.data(), buffer.size(), 0), 4096);
  EXPECT_EQ(std::memcmp(buffer.data(), bad.data(), buffer.size()), 0);
  // The damaged range: EIO, every time.
  for (int attempt = 0; attempt < 3; ++attempt) {
    EXPECT_EQ(PreadFully(fd, buffer.data(), buffer.size(), static_cast<off_t>(target)), -EIO);
  }
  ::close(fd);
  // A whole-file read fails too, rather than returning damaged bytes.
  std::ifstream whole(mount.path("broken/1/damaged/bad.bin"), std::ios::binary);
  std::vector<char> all(bad.size());
  whole.read(all.data(), static_cast<std::streamsize>(all.size()));
  EXPECT_LT(static_cast<size_t>(whole.gcount()), bad.size());

  // Other files read fine and the mount stays up.
  EXPECT_EQ(Sha256Hex(mount.path("broken/1/fine/good.bin")),
            Sha256Hex(source / "fine" / "good.bin"));
  EXPECT_TRUE(IsServedMount(mount.mountpoint()));

  const std::string log = mount.Log();
  EXPECT_NE(log.find("EIO"), std::string::npos) << log;
  EXPECT_NE(log.find(chunk_hex), std::string::npos) << "the log does not name the chunk:\n" << log;
  EXPECT_NE(log.find("broken@1:damaged/bad.bin"), std::string::npos)
      << "the log does not name the file:\n"
      << log;
}

}  // namespace
}  // namespace re2po::testing
