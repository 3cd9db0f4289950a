// How a mount is configured: the options of `re2po mount`, mount.re2po and
// /etc/fstab, parsed without FUSE so they can be checked anywhere.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/base/status.h"

namespace re2po::fs {

// A remote a node mounts (s3://BUCKET/PREFIX, oci://HOST/REPOSITORY), and
// its node cache.
struct RemoteMountOptions {
  std::string url;                  // empty: the mount serves a local store
  std::string endpoint;             // -o endpoint=URL; else AWS_ENDPOINT_URL, else AWS
  std::filesystem::path cache_dir;  // -o cache_dir=; default /var/cache/re2po/<from the URL>
  // -o cache_size_max=; none: the bound the cache recorded, else 20 GiB.
  std::optional<uint64_t> cache_max_bytes;
  std::filesystem::path trust;        // -o trust=PUBLIC_KEY
  std::chrono::seconds timeout{30};   // -o timeout=SECONDS, per read
  std::vector<std::string> prefetch;  // -o prefetch=MODEL[@VERSION] (repeatable)
  // -o user_agent=NAME: how the node names itself to the remote, so an
  // engine's access log tells nodes apart. Empty: re2po/VERSION.
  std::string user_agent;
};

// `source` is a remote when it has a scheme ("s3://..."), else a store path.
bool IsRemoteSource(std::string_view source);

// Where the metrics endpoint listens: HOST:PORT ("127.0.0.1:9317",
// "[::1]:9317"; port 0 takes any free port) or a unix socket path (one that
// starts with '/' or '.', or "unix:PATH").
struct ListenAddress {
  std::string host;  // empty for a unix socket
  int port = 0;
  std::filesystem::path socket_path;  // absolute
  bool is_unix() const { return !socket_path.empty(); }
  std::string ToString() const;  // as parsed back by ParseListenAddress
};
Result<ListenAddress> ParseListenAddress(std::string_view text);

struct MountOptions {
  std::filesystem::path store_dir;
  RemoteMountOptions remote;
  std::filesystem::path mountpoint;
  bool foreground = false;  // else return once the mount answers, serving from a child
  size_t cache_bytes = size_t{256} << 20;  // decompressed chunk cache (-o cache_size=)
  // Files up to this size are read ahead whole (-o whole_file_readahead=),
  // capped at a quarter of the cache so a file's chunks do not evict each other.
  size_t whole_file_readahead = size_t{64} << 20;
  // The kernel's read-ahead window for the mount (-o kernel_readahead=), so
  // it asks in 1 MiB requests rather than its 128 KiB default; 0 leaves the
  // kernel's. Needs root; otherwise logged and left.
  size_t kernel_readahead = size_t{1} << 20;
  bool allow_other = false;
  std::string log_level = "info";
  std::filesystem::path log_file;  // empty: stderr in the foreground, nowhere in the background
  std::vector<std::string> fuse_options;  // passed to libfuse (allow_root, fsname=, ...)
  // -o access_log=PATH|off: one line per open of a file (fs/core/access_log.h);
  // an empty path means <store>/access/access.jsonl.
  bool access_log = true;
  std::filesystem::path access_log_path;
  // -o metrics=ADDR|off: the Prometheus endpoint; none by default.
  std::optional<ListenAddress> metrics;
  // -o keyring=PATH: keys of protected models; without one, opening a
  // protected model's files is EACCES.
  std::filesystem::path keyring;
};

// Applies a mount(8)-style option list ("ro,cache_size=1G,allow_other") to
// `base`. Understands cache_size=SIZE, whole_file_readahead=SIZE and
// kernel_readahead=SIZE (bytes, or
// with K/M/G/T, KiB..., KB...: all powers of 1024), allow_other, log_level=, log_file=, ro,
// access_log=PATH|off, metrics=ADDR|off, keyring=PATH;
// for remotes endpoint=, cache_dir=, cache_size_max=SIZE, trust=, timeout=SECONDS, user_agent=,
// prefetch=MODEL[@VERSION] (repeatable, or several joined by ':'); accepts
// and drops what mount(8) and systemd pass for every filesystem (rw, defaults, auto, noauto, user,
// users, nouser, owner, group, _netdev, nofail, x-*, comment=*, exec/noexec, suid/nosuid,
// dev/nodev, atime options, sync/async, dirsync, lazytime...); passes the libfuse options
// allow_root, auto_unmount, fsname=, subtype=, debug. Anything else is InvalidArgument.
Result<MountOptions> ParseMountOptions(std::string_view comma_separated, MountOptions base);

// Parses "512M", "1G", "1048576" into bytes.
Result<size_t> ParseSize(std::string_view text);

}  // namespace re2po::fs
