// The function-container path, with what runs here (podman and runc cannot
// set rlimits on these machines): a process in a mount namespace of its own
// (unshare(1)) that took the node's /models as an `rslave` bind before the
// node mounted it, as a function pod takes a DaemonSet's mount through mount
// propagation. It sees the models once the node mounts, loses them when the
// node's daemon is killed, and sees them again once the node remounts.
#include <sys/stat.h>

#include <cerrno>

#include "tests/fleet/fleet_processes.h"

namespace re2po::testing {
namespace {

constexpr size_t kMiB = size_t{1} << 20;
constexpr auto kDeadline = std::chrono::seconds(30);
constexpr const char* kUnshare = "/usr/bin/unshare";

bool IsMountPoint(const stdfs::path& path) {
  return RunCommand("mountpoint -q " + ShellQuote(path.string())).exit_code == 0;
}

// `dir` bound on itself and made a shared mount of its own peer group (not
// the root's): what a node's /models is under a DaemonSet with
// Bidirectional propagation. Unmounted, whatever is on it, at scope exit.
class SharedMount {
 public:
  explicit SharedMount(stdfs::path dir) : dir_(std::move(dir)) { stdfs::create_directories(dir_); }
  ~SharedMount() {
    for (int i = 0; i < 4 && IsMountPoint(dir_); ++i) {
      RunCommand("umount -l " + ShellQuote(dir_.string()));
    }
  }
  SharedMount(const SharedMount&) = delete;
  SharedMount& operator=(const SharedMount&) = delete;

  // "" or the failing command's message.
  std::string Make() {
    const std::string dir = ShellQuote(dir_.string());
    CommandResult made =
        RunCommand("mount --bind " + dir + " " + dir + " && mount --make-private " + dir +
                   " && mount --make-shared " + dir);
    return made.exit_code == 0 ? "" : "mount --bind/--make-shared: " + made.err;
  }

 private:
  stdfs::path dir_;
};

// Why a process cannot take a slave bind of a shared mount in a namespace
// of its own here, or "" when it can (tried for real, in `scratch`).
std::string NamespaceUnavailableReason(const stdfs::path& scratch) {
  if (::geteuid() != 0) return "not root: unshare --mount and mount need CAP_SYS_ADMIN";
  if (!stdfs::exists(kUnshare)) return std::string(kUnshare) + " (util-linux) is missing";
  const stdfs::path source = scratch / "probe-source", view = scratch / "probe-view";
  stdfs::create_directories(view);
  SharedMount shared(source);
  if (std::string failed = shared.Make(); !failed.empty()) return failed;
  CommandResult probe =
      RunCommand(std::string(kUnshare) + " --mount --propagation unchanged -- sh -c " +
                 ShellQuote("mount --bind \"$0\" \"$1\" && mount --make-rslave \"$1\" && "
                            "findmnt -no PROPAGATION \"$1\"") +
                 " " + ShellQuote(source.string()) + " " + ShellQuote(view.string()));
  if (probe.exit_code != 0) return "unshare --mount with an rslave bind fails: " + probe.err;
  if (probe.out.find("slave") == std::string::npos) {
    return "the bind in the new namespace is not a slave: " + probe.out;
  }
  return "";
}

// What the namespaced process runs: its view of the node's /models is an
// rslave bind made inside the namespace; then it answers requests that the
// test drops as files in `talk` (ask-N holds a path under the view) with
// the file's bytes, cat's exit status and error, and a listing of the view.
constexpr const char* kContainerScript = R"sh(
view=$1 models=$2 talk=$3
mkdir -p "$view" && mount --bind "$models" "$view" && mount --make-rslave "$view" || exit 3
findmnt -no PROPAGATION "$view" > "$talk/propagation"
echo $$ > "$talk/ready.tmp" && mv "$talk/ready.tmp" "$talk/ready"
n=0
while [ ! -e "$talk/stop" ]; do
  if [ -e "$talk/ask-$n" ]; then
    path=$(cat "$talk/ask-$n")
    ls -1 "$view" > "$talk/$n.listing" 2>&1
    cat "$view/$path" > "$talk/$n.bytes" 2> "$talk/$n.error"
    echo $? > "$talk/$n.status.tmp" && mv "$talk/$n.status.tmp" "$talk/$n.status"
    n=$((n + 1))
  else
    sleep 0.02
  fi
done
)sh";

// A long-running process in a mount namespace of its own, started before
// the node mounts, that reads through its slave view of /models on request.
// Stopped (then killed if need be) at scope exit: its namespace, and the
// mounts in it, go with it.
class ContainerProcess {
 public:
  struct Answer {
    int status = -1;  // cat's
    std::vector<uint8_t> bytes;
    std::string error;
    std::string listing;  // of the view's top
  };

  ContainerProcess(stdfs::path models, stdfs::path view, stdfs::path talk)
      : models_(std::move(models)), view_(std::move(view)), talk_(std::move(talk)) {
    stdfs::create_directories(talk_);
  }
  ~ContainerProcess() {
    if (pid_ <= 0) return;
    WriteFileText(talk_ / "stop", "");
    if (!WaitForExit(std::chrono::seconds(10))) {
      ::kill(pid_, SIGKILL);
      WaitForExit(std::chrono::seconds(10));
    }
  }
  ContainerProcess(const ContainerProcess&) = delete;
  ContainerProcess& operator=(const ContainerProcess&) = delete;

  // "" once it has its view, or what went wrong.
  std::string Start() {
    pid_ = SpawnWithLog({kUnshare, "--mount", "--propagation", "unchanged", "--", "/bin/sh", "-c",
                         kContainerScript, "sh", view_.string(), models_.string(), talk_.string()},
                        talk_ / "log");
    if (pid_ < 0) return "fork failed";
    const bool ready = WaitFor(
        [&] { return stdfs::exists(talk_ / "ready") || WaitForExit(std::chrono::milliseconds(0)); },
        kDeadline);
    if (!stdfs::exists(talk_ / "ready")) {
      return std::string(ready ? "it exited" : "not ready in time") + ": " +
             FileText(talk_ / "log");
    }
    return "";
  }

  // Reads `path` (under the view) inside the namespace; nullopt when no
  // answer comes in time.
  std::optional<Answer> Read(const std::string& path) {
    const int n = asked_++;
    const stdfs::path ask = talk_ / ("ask-" + std::to_string(n));
    WriteFileText(ask.string() + ".tmp", path);
    stdfs::rename(ask.string() + ".tmp", ask);
    const stdfs::path status = talk_ / (std::to_string(n) + ".status");
    if (!WaitFor([&] { return stdfs::exists(status); }, kDeadline)) return std::nullopt;
    Answer answer;
    answer.status = std::stoi(FileText(status));
    answer.bytes = ReadFileBytes(talk_ / (std::to_string(n) + ".bytes"));
    answer.error = FileText(talk_ / (std::to_string(n) + ".error"));
    answer.listing = FileText(talk_ / (std::to_string(n) + ".listing"));
    return answer;
  }

  pid_t pid() const { return pid_; }
  std::string propagation() const { return FileText(talk_ / "propagation"); }

 private:
  bool WaitForExit(std::chrono::milliseconds timeout) {
    return WaitFor(
        [&] {
          int status = 0;
          const pid_t r = ::waitpid(pid_, &status, WNOHANG);
          if (r == pid_ || (r < 0 && errno == ECHILD)) pid_ = -1;
          return pid_ <= 0;
        },
        timeout);
  }

  stdfs::path models_;
  stdfs::path view_;
  stdfs::path talk_;
  pid_t pid_ = -1;
  int asked_ = 0;
};

std::string MountNamespace(pid_t pid) {
  std::error_code ec;
  return stdfs::read_symlink("/proc/" + std::to_string(pid) + "/ns/mnt", ec).string();
}

// errno of stat(path), or 0.
int StatErrno(const stdfs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? 0 : errno;
}

class NamespaceTest : public FleetProcessTest {};

TEST_F(NamespaceTest, AContainerWithAnRslaveBindSeesTheNodesModelsAndAgainAfterARemount) {
  REQUIRE_FUSE();
  if (std::string why = NamespaceUnavailableReason(tmp_.path()); !why.empty()) {
    std::cout << "[ skipped  ] no mount namespaces with propagation here: " << why << "\n";
    GTEST_SKIP() << why;
  }
  const auto started = std::chrono::steady_clock::now();
  const auto weights = ModelFile(1, 4, kMiB);
  const auto head = ModelFile(2, 1, kMiB / 2);
  Import("resnet", 1, {{"model.safetensors", weights}, {"extra/head.safetensors", head}});
  nlohmann::json pushed;
  ASSERT_TRUE(PushSigned("", pushed));

  // The node's /models, and a container started before the node mounts it.
  const stdfs::path models = tmp_.path() / "models";
  SharedMount shared(models);
  ASSERT_EQ(shared.Make(), "");
  auto node = std::make_unique<NodeDaemon>("node", models, cache_dir("node"),
                                           tmp_.path() / "logs" / "node.log");
  const stdfs::path view = tmp_.path() / "container" / "models";
  ContainerProcess container(models, view, tmp_.path() / "talk");
  ASSERT_EQ(container.Start(), "");
  ASSERT_NE(MountNamespace(container.pid()), MountNamespace(::getpid()))
      << "the container shares our mount namespace";
  EXPECT_NE(container.propagation().find("slave"), std::string::npos) << container.propagation();
  EXPECT_FALSE(IsMountPoint(view)) << "the container's bind leaked into our namespace";
  std::optional<ContainerProcess::Answer> before = container.Read("resnet/1/model.safetensors");
  ASSERT_TRUE(before.has_value()) << "the container does not answer";
  EXPECT_NE(before->status, 0) << "a model was there before the node mounted";
  EXPECT_EQ(before->listing, "");

  // The node mounts: the mount propagates into the container's view.
  ASSERT_EQ(node->Mount(MountCommand(*node)), "");
  std::optional<ContainerProcess::Answer> mounted = container.Read("resnet/1/model.safetensors");
  ASSERT_TRUE(mounted.has_value());
  ASSERT_EQ(mounted->status, 0) << mounted->error;
  EXPECT_EQ(mounted->bytes, weights);
  EXPECT_EQ(mounted->listing, "resnet\n");

  // The daemon dies (SIGKILL, as the OOM killer would): the container's
  // view goes stale with the node's mount.
  const pid_t first_daemon = node->pid();
  ASSERT_TRUE(node->Kill()) << "mount.re2po " << first_daemon << " did not die";
  ASSERT_TRUE(WaitFor([&] { return StatErrno(models) == ENOTCONN; }, kDeadline))
      << "the node's mount is not stale after its daemon died: "
      << std::strerror(StatErrno(models));
  std::optional<ContainerProcess::Answer> stale = container.Read("resnet/1/model.safetensors");
  ASSERT_TRUE(stale.has_value());
  EXPECT_NE(stale->status, 0) << "the container read a dead mount";

  // The node mounts again (mount.re2po clears the stale mount first): the
  // container, never restarted, sees the models again, a file it read
  // before and one it never read.
  const auto remount_started = std::chrono::steady_clock::now();
  ASSERT_EQ(node->Mount(MountCommand(*node)), "");
  const double remount_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - remount_started).count();
  EXPECT_NE(node->pid(), first_daemon);
  EXPECT_NE(node->mount_messages().find("stale mount"), std::string::npos)
      << node->mount_messages();
  std::optional<ContainerProcess::Answer> again = container.Read("resnet/1/model.safetensors");
  ASSERT_TRUE(again.has_value());
  ASSERT_EQ(again->status, 0) << again->error;
  EXPECT_EQ(again->bytes, weights);
  EXPECT_EQ(again->listing, "resnet\n");
  std::optional<ContainerProcess::Answer> fresh = container.Read("resnet/1/extra/head.safetensors");
  ASSERT_TRUE(fresh.has_value());
  ASSERT_EQ(fresh->status, 0) << fresh->error;
  EXPECT_EQ(fresh->bytes, head);
  std::cout << "[ figures  ] remount after the daemon was killed: " << remount_seconds
            << " s; the container saw the models again without a restart; test ran "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()
            << " s\n";
}

}  // namespace
}  // namespace re2po::testing
