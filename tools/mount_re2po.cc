// mount.re2po: the mount(8) helper.
//
//   mount.re2po STORE|REMOTE MOUNTPOINT [-o OPTIONS] [-n] [-s] [-v] [-f] [-t TYPE] [--foreground]
//
// mount(8) runs it for `mount -t re2po STORE MOUNTPOINT` (installed as
// /sbin/mount.re2po) and `mount -t fuse.re2po ...` (installed as
// /sbin/mount.fuse.re2po, a link to the same program), including from
// /etc/fstab. -n, -s, -v and -t are what mount(8) may pass and are ignored;
// -f is mount(8)'s "fake": check the arguments, mount nothing. See
// packaging/man/mount.re2po.8 and docs/mount.md.
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "fs/fuse/mount.h"
#include "store/base/allocator_tuning.h"

namespace {

constexpr const char* kUsage =
    "usage: mount.re2po STORE|REMOTE MOUNTPOINT [-o OPTIONS] [--foreground]\n"
    "  REMOTE: s3://BUCKET/PREFIX or oci://HOST/REPOSITORY, served from a node cache\n"
    "options: cache_size=SIZE (default 256M), allow_other, log_level=LEVEL, log_file=PATH,\n"
    "         ro; for a REMOTE: endpoint=URL, cache_dir=DIR, cache_size_max=SIZE,\n"
    "         trust=PUBLIC_KEY, timeout=SECONDS, prefetch=MODEL[@VERSION], user_agent=NAME;\n"
    "         mount(8)'s generic options (rw, defaults, noauto, _netdev, x-*, ...)\n"
    "         are accepted and ignored. See mount.re2po(8).\n";

int Fail(const std::string& message) {
  std::fprintf(stderr, "mount.re2po: error: %s\n%s", message.c_str(), kUsage);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  re2po::KeepChunkSizedBlocksInTheHeap();
  std::vector<std::string> positional;
  std::string option_list;
  bool foreground = false;
  bool fake = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "-o" || arg == "-t" || arg == "-N") {
      if (i + 1 >= argc) return Fail(std::string(arg) + " needs a value");
      if (arg == "-o") option_list += (option_list.empty() ? "" : ",") + std::string(argv[i + 1]);
      ++i;
    } else if (arg.starts_with("-o") && arg.size() > 2) {
      option_list += (option_list.empty() ? "" : ",") + std::string(arg.substr(2));
    } else if (arg == "--foreground") {
      foreground = true;
    } else if (arg == "-f") {
      fake = true;
    } else if (arg == "-n" || arg == "-s" || arg == "-v") {
      // mount(8): no mtab, sloppy, verbose. Nothing to do.
    } else if (arg.starts_with("-") && arg != "-") {
      return Fail("unknown argument " + std::string(arg));
    } else {
      positional.emplace_back(arg);
    }
  }
  if (positional.size() != 2) return Fail("need STORE (or REMOTE) and MOUNTPOINT");
  re2po::fs::MountOptions base;
  if (re2po::fs::IsRemoteSource(positional[0])) {
    base.remote.url = positional[0];
  } else {
    base.store_dir = positional[0];
  }
  base.mountpoint = positional[1];
  base.foreground = foreground;
  re2po::Result<re2po::fs::MountOptions> options = re2po::fs::ParseMountOptions(option_list, base);
  if (!options.ok()) return Fail(options.status().ToString());
  if (fake) return 0;
  return re2po::fs::RunMount(*options);
}
