// Mount option parsing: what mount(8), fstab and systemd pass, sizes, errors.
#include "fs/core/mount_options.h"
#include "tests/testutil/testutil.h"

namespace re2po::fs {
namespace {

TEST(ParseSizeTest, UnitsArePowersOf1024) {
  EXPECT_EQ(*ParseSize("1048576"), size_t{1} << 20);
  EXPECT_EQ(*ParseSize("512M"), size_t{512} << 20);
  EXPECT_EQ(*ParseSize("1G"), size_t{1} << 30);
  EXPECT_EQ(*ParseSize("1g"), size_t{1} << 30);
  EXPECT_EQ(*ParseSize("64KiB"), size_t{64} << 10);
  EXPECT_EQ(*ParseSize("2GB"), size_t{2} << 30);
  EXPECT_EQ(*ParseSize("0"), 0u);
  for (const char* bad : {"", "M", "1X", "-1G", "1.5G", "99999999999T", "12 M"}) {
    EXPECT_FALSE(ParseSize(bad).ok()) << bad;
  }
}

TEST(ParseMountOptionsTest, DefaultsAreDocumented) {
  MountOptions options;
  EXPECT_EQ(options.cache_bytes, size_t{256} << 20);
  EXPECT_FALSE(options.allow_other);
  EXPECT_FALSE(options.foreground);
  EXPECT_EQ(options.log_level, "info");
}

TEST(ParseMountOptionsTest, UnderstandsItsOwnOptions) {
  auto options = ParseMountOptions(
      "cache_size=1G,allow_other,log_level=debug,ro,whole_file_readahead=200M,"
      "kernel_readahead=4M",
      {});
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_EQ(options->cache_bytes, size_t{1} << 30);
  EXPECT_EQ(options->whole_file_readahead, size_t{200} << 20);
  EXPECT_EQ(options->kernel_readahead, size_t{4} << 20);
  EXPECT_TRUE(options->allow_other);
  EXPECT_EQ(options->log_level, "debug");
  EXPECT_TRUE(options->fuse_options.empty());
}

TEST(ParseMountOptionsTest, DropsWhatMountAndSystemdPass) {
  MountOptions base;
  base.store_dir = "/s";
  auto options = ParseMountOptions(
      "rw,defaults,auto,noauto,user,users,nouser,_netdev,nofail,noatime,relatime,nosuid,nodev,"
      "exec,noexec,x-systemd.automount,x-systemd.requires=network-online.target,"
      "x-systemd.idle-timeout=1min,comment=x-gvfs-show,sync,async",
      base);
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_TRUE(options->fuse_options.empty());
  EXPECT_EQ(options->store_dir, "/s");  // the base is kept
  EXPECT_EQ(options->cache_bytes, size_t{256} << 20);
  EXPECT_EQ(options->kernel_readahead, size_t{1} << 20);
}

TEST(ParseMountOptionsTest, PassesLibfuseOptionsAndHandlesEscapes) {
  auto options = ParseMountOptions("allow_root,fsname=my\\,store,auto_unmount,,", {});
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_EQ(options->fuse_options,
            (std::vector<std::string>{"allow_root", "fsname=my,store", "auto_unmount"}));
  EXPECT_TRUE(ParseMountOptions("", {}).ok());
}

TEST(ParseMountOptionsTest, RejectsUnknownOptionsAndBadValues) {
  for (const char* bad :
       {"frobnicate", "cache_size=", "cache_size=big", "whole_file_readahead=lots",
        "kernel_readahead=x", "log_level=loud", "direct_io", "uid=5"}) {
    auto options = ParseMountOptions(bad, {});
    ASSERT_FALSE(options.ok()) << bad;
    EXPECT_EQ(options.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ParseMountOptionsTest, UnderstandsTheRemoteOptions) {
  auto options = ParseMountOptions(
      "endpoint=http://127.0.0.1:17480,cache_dir=/var/cache/re2po/fleet,cache_size_max=20G,"
      "trust=/etc/re2po/publisher.pub,timeout=5,prefetch=bert:resnet@2,prefetch=gpt",
      {});
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_EQ(options->remote.endpoint, "http://127.0.0.1:17480");
  EXPECT_EQ(options->remote.cache_dir, "/var/cache/re2po/fleet");
  EXPECT_EQ(options->remote.cache_max_bytes, uint64_t{20} << 30);
  EXPECT_EQ(options->remote.trust, "/etc/re2po/publisher.pub");
  EXPECT_EQ(options->remote.timeout, std::chrono::seconds(5));
  EXPECT_EQ(options->remote.prefetch, (std::vector<std::string>{"bert", "resnet@2", "gpt"}));
  // Without cache_size_max=, the cache's own recorded bound applies.
  EXPECT_FALSE(ParseMountOptions("cache_dir=/c", {})->remote.cache_max_bytes.has_value());
  for (const char* bad :
       {"timeout=0", "timeout=soon", "cache_size_max=much", "trust=", "endpoint="}) {
    EXPECT_EQ(ParseMountOptions(bad, {}).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ParseMountOptionsTest, ASourceWithASchemeIsARemote) {
  EXPECT_TRUE(IsRemoteSource("s3://bucket/prefix"));
  EXPECT_TRUE(IsRemoteSource("oci://registry:5000/models"));
  EXPECT_FALSE(IsRemoteSource("/var/lib/re2po/store"));
  EXPECT_FALSE(IsRemoteSource("://x"));
  EXPECT_FALSE(IsRemoteSource("relative/dir"));
}

}  // namespace
}  // namespace re2po::fs
