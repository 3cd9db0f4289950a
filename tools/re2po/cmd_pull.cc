#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <vector>

#include "store/fleet/open_remote.h"
#include "store/fleet/pull.h"
#include "tools/re2po/commands.h"
#include "tools/re2po/remotes.h"

namespace re2po::cli {
namespace stdfs = std::filesystem;
namespace {

NodeSpec NodeSpecFor(const RemoteConfig& remote, const NodeArgs& args) {
  NodeSpec spec;
  spec.remote.url = remote.url;
  spec.remote.endpoint = args.endpoint.empty() ? remote.endpoint : args.endpoint;
  spec.cache_dir = !args.cache_dir.empty()     ? stdfs::path(args.cache_dir)
                   : !remote.cache_dir.empty() ? stdfs::path(remote.cache_dir)
                                               : DefaultCacheDir(remote.url);
  spec.trust = args.trust.empty() ? remote.trust : args.trust;
  return spec;
}

// A mount that owns the cache serves the files: reading them through it
// fills the cache its daemon keeps.
Status ReadThroughMount(const stdfs::path& mountpoint, const std::vector<VersionRef>& refs) {
  uint64_t bytes = 0;
  std::vector<char> buffer(size_t{4} << 20);
  for (const VersionRef& ref : refs) {
    const stdfs::path dir = mountpoint / ref.model /
                            (ref.version ? std::to_string(*ref.version) : std::string("latest"));
    std::error_code error;
    for (auto it = stdfs::recursive_directory_iterator(dir, error); !error && it != stdfs::end(it);
         it.increment(error)) {
      if (!it->is_regular_file()) continue;
      const int fd = ::open(it->path().c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return Status::FromErrno(errno, "opening " + it->path().string());
      ssize_t got = 0;
      while ((got = ::read(fd, buffer.data(), buffer.size())) > 0) bytes += got;
      const int saved = errno;
      ::close(fd);
      if (got < 0) return Status::FromErrno(saved, "reading " + it->path().string());
    }
    if (error) return Status::FromErrno(error.value(), "listing " + dir.string());
  }
  std::cout << "read " << HumanBytes(bytes) << " through the mount at " << mountpoint.string()
            << ", whose daemon owns the cache" << std::endl;
  return Status::Ok();
}

std::optional<stdfs::path> MountOwning(const stdfs::path& cache_dir) {
  std::ifstream in(cache_dir / "mountpoint");
  std::string path;
  if (!std::getline(in, path) || path.empty()) return std::nullopt;
  return stdfs::path(path);
}

}  // namespace

Status RunPull(const GlobalOptions& global, const PullArgs& args) {
  ASSIGN_OR_RETURN(RemoteConfig remote, ResolveRemote(args.remote));
  std::vector<VersionRef> refs;
  for (const std::string& ref : args.refs) {
    ASSIGN_OR_RETURN(VersionRef parsed, ParseVersionRef(ref));
    refs.push_back(parsed);
  }
  NodeSpec spec = NodeSpecFor(remote, args.node);
  // A protected version's chunks are checked as they are cached: that needs its key.
  ASSIGN_OR_RETURN(spec.keyring, LoadKeyring(global));
  Result<std::unique_ptr<Store>> node = OpenNode(spec);
  if (!node.ok() && node.status().code() == StatusCode::kBusy) {
    if (std::optional<stdfs::path> mountpoint = MountOwning(spec.cache_dir)) {
      return ReadThroughMount(*mountpoint, refs);
    }
  }
  if (!node.ok()) return node.status();
  Progress progress("pulling into " + spec.cache_dir.string());
  ASSIGN_OR_RETURN(PullSummary summary, Pull(**node, refs, /*threads=*/4, progress.Fn()));
  std::cout << "pulled " << summary.versions << " versions into " << spec.cache_dir.string() << ": "
            << summary.chunks << " chunks, " << HumanBytes(summary.bytes) << std::endl;
  return Status::Ok();
}

void AddNodeOptions(CLI::App& command, NodeArgs& node) {
  command
      .add_option("--cache-dir", node.cache_dir,
                  "the node cache (else the remote's, else "
                  "/var/cache/re2po/...)")
      ->option_text("DIR");
  command.add_option("--trust", node.trust, "the publisher's public key")->option_text("PATH");
  command.add_option("--endpoint", node.endpoint, "the S3 endpoint (else AWS_ENDPOINT_URL)")
      ->option_text("URL");
}

void RegisterPull(CLI::App& app, CommandFn& chosen) {
  auto args = std::make_shared<PullArgs>();
  CLI::App& pull =
      AddCommand(app, chosen, args, "pull",
                 "fetch versions into this node's cache before they are read", RunPull);
  pull.add_option("REMOTE", args->remote, "a remote's name or URL")->required();
  pull.add_option("MODEL[@VERSION]", args->refs, "what to fetch (a model: its latest version)")
      ->required();
  AddNodeOptions(pull, args->node);
}

}  // namespace re2po::cli
