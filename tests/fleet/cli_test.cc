// The fleet as users drive it, with real processes against a real Ceph:
// `re2po push` from publishers (two at once, or killed half-way),
// `mount.re2po s3://...` on a node, `re2po pull` and `re2po cache`.
#include <nlohmann/json.hpp>

#include <fstream>
#include <thread>

#include "tests/fleet/fleet_processes.h"

namespace re2po::testing {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

class FleetCliTest : public FleetProcessTest {
 protected:
  // re2po (or another built tool) with the S3 environment, on `store`.
  CommandResult Run(const std::string& tool, const stdfs::path& store, const std::string& args,
                    const std::string& env = "") const {
    return RunCommand(S3Environment() + env + " " + ShellQuote(BuiltTool(tool)) + " --store " +
                      ShellQuote(store.string()) + " " + args + "; exit $?");
  }

  std::string PushArgs(const std::string& refs = "") const {
    return "push " + url() + " " + refs + " --key " + ShellQuote(key_.string()) + " --json";
  }

  std::string MountOptions(const std::string& node, const std::string& extra = "") const {
    return "endpoint=" + env_->settings.endpoint + ",cache_dir=" + cache_dir(node).string() +
           ",trust=" + key_.string() + ".pub,log_file=" + (tmp_.path() / (node + ".log")).string() +
           extra;
  }

  CommandResult MountNode(const std::string& node, const stdfs::path& mountpoint,
                          const std::string& extra = "") const {
    stdfs::create_directories(mountpoint);
    return RunCommand(S3Environment() + ShellQuote(BuiltTool("mount.re2po")) + " " + url() + " " +
                      ShellQuote(mountpoint.string()) + " -o " +
                      ShellQuote(MountOptions(node, extra)) + "; exit $?");
  }
};

TEST_F(FleetCliTest, ANodeMountServesTheRemoteAndShowsNewVersionsWhole) {
  REQUIRE_FUSE();
  const auto v1 = ModelFile(1, 4, 3 * kMiB / 2);
  Import("bert", 1, {{"model.safetensors", v1}, {"sub/config.json", {'{', '}'}}});
  CommandResult pushed = Re2po(PushArgs());
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  const stdfs::path mountpoint = tmp_.path() / "models";
  UnmountGuard guard(mountpoint);
  CommandResult mounted = MountNode("n1", mountpoint);
  ASSERT_EQ(mounted.exit_code, 0) << mounted.err;
  EXPECT_EQ(ReadFileBytes(mountpoint / "bert/1/model.safetensors"), v1);
  EXPECT_EQ(ReadFileBytes(mountpoint / "bert/1/sub/config.json"), (std::vector<uint8_t>{'{', '}'}));
  EXPECT_EQ(stdfs::read_symlink(mountpoint / "bert/latest"), "1");

  const auto v2 = ModelFile(2, 4, 3 * kMiB / 2);
  Import("bert", 2, {{"model.safetensors", v2}});
  const auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(Re2po(PushArgs("bert@2")).exit_code, 0);
  // A version appears whole: once its directory is there, so is every byte.
  ASSERT_TRUE(WaitFor([&] { return stdfs::exists(mountpoint / "bert/2/model.safetensors"); },
                      std::chrono::seconds(60)));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "[ figures  ] bert@2 appeared on the node " << seconds << " s after its push\n";
  EXPECT_EQ(ReadFileBytes(mountpoint / "bert/2/model.safetensors"), v2);
  EXPECT_EQ(stdfs::read_symlink(mountpoint / "bert/latest"), "2");
}

TEST_F(FleetCliTest, TwoPublishersPushingAtOnceLoseNoVersion) {
  TempDir other_home;
  const stdfs::path other_store = other_home.path() / "store";
  ASSERT_OK(Store::Init(other_store));
  constexpr int kRounds = 3;
  for (int round = 1; round <= kRounds; ++round) {
    Import("alpha", round, {{"w.safetensors", ModelFile(10 + round, 2, kMiB)}});
    const stdfs::path source = other_home.path() / ("beta-" + std::to_string(round));
    WriteFileBytes(source / "w.safetensors", ModelFile(20 + round, 2, kMiB));
    ASSERT_EQ(Run("re2po", other_store,
                  "import beta@" + std::to_string(round) + " " + ShellQuote(source.string()))
                  .exit_code,
              0);
    const std::string refs = "@" + std::to_string(round);
    CommandResult first;
    CommandResult second;
    std::thread a([&] { first = Run("re2po", store_dir(), PushArgs("alpha" + refs)); });
    std::thread b([&] { second = Run("re2po", other_store, PushArgs("beta" + refs)); });
    a.join();
    b.join();
    ASSERT_EQ(first.exit_code, 0) << first.err;
    ASSERT_EQ(second.exit_code, 0) << second.err;
  }
  ASSERT_OK_AND_ASSIGN(SigningKey key, SigningKey::Load(key_));
  ASSERT_OK_AND_ASSIGN(auto node, OpenNode("n", &key.public_key()));
  for (const char* model : {"alpha", "beta"}) {
    const ModelEntry* entry = node->Catalog()->FindModel(model);
    ASSERT_NE(entry, nullptr) << model << " was lost";
    EXPECT_EQ(entry->versions.size(), static_cast<size_t>(kRounds)) << model;
  }
}

TEST_F(FleetCliTest, AKilledPushLeavesTheRemoteAsItWasOrWholeAndARerunFinishes) {
  Import("m", 1, {{"w.safetensors", ModelFile(3, 6, kMiB)}});
  ASSERT_OK_AND_ASSIGN(SigningKey key, SigningKey::Load(key_));
  CommandResult killed =
      Run("re2po-hooked", store_dir(), PushArgs(), "RE2PO_CRASH_POINT=push-before-record");
  ASSERT_EQ(killed.exit_code, 128 + SIGKILL) << killed.out << killed.err;
  {
    ASSERT_OK_AND_ASSIGN(auto node, OpenNode("before", &key.public_key()));
    EXPECT_TRUE(node->Catalog()->models().empty()) << "a push that died showed a version";
  }
  CommandResult rerun = Re2po(PushArgs());
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  const nlohmann::json summary = nlohmann::json::parse(rerun.out);
  EXPECT_GE(summary["packs_already_there"].get<int>(), 1) << rerun.out;
  EXPECT_EQ(summary["packs_uploaded"].get<int>(), 0) << "packs were uploaded again: " << rerun.out;
  ASSERT_OK_AND_ASSIGN(auto node, OpenNode("after", &key.public_key()));
  ASSERT_NE(node->Catalog()->FindVersion("m", 1), nullptr);

  // Killed after its record, before the head: the version is whole already.
  Import("m", 2, {{"w.safetensors", ModelFile(4, 6, kMiB)}});
  CommandResult half =
      Run("re2po-hooked", store_dir(), PushArgs("m@2"), "RE2PO_CRASH_POINT=push-before-head");
  ASSERT_EQ(half.exit_code, 128 + SIGKILL);
  ASSERT_OK(node->Refresh().status());
  ASSERT_NE(node->Catalog()->FindVersion("m", 2), nullptr) << "its log record was not read";
  ASSERT_OK_AND_ASSIGN(auto bytes, ReadVersionFile(*node, "m", 2, "w.safetensors"));
  EXPECT_EQ(bytes, ModelFile(4, 6, kMiB));
}

TEST_F(FleetCliTest, PullWarmsTheCacheSoAMountWorksWithTheRemoteDown) {
  REQUIRE_FUSE();
  const auto weights = ModelFile(5, 4, kMiB);
  Import("m", 1, {{"w.safetensors", weights}});
  ASSERT_EQ(Re2po(PushArgs()).exit_code, 0);
  CommandResult pulled =
      Re2po("pull " + url() + " m --cache-dir " + ShellQuote(cache_dir("n").string()) +
            " --trust " + ShellQuote(key_.string() + ".pub"));
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  CommandResult stats =
      Re2po("cache stats --json --cache-dir " + ShellQuote(cache_dir("n").string()));
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_GE(nlohmann::json::parse(stats.out)["bytes"].get<uint64_t>(), weights.size() - kMiB);

  // The remote goes away: the node still mounts and serves what it pulled.
  MisbehavingPeer dead(MisbehavingPeer::Mode::kCloseAtOnce);
  const stdfs::path mountpoint = tmp_.path() / "models";
  UnmountGuard guard(mountpoint);
  stdfs::create_directories(mountpoint);
  CommandResult mounted = RunCommand(S3Environment() + ShellQuote(BuiltTool("mount.re2po")) + " " +
                                     url() + " " + ShellQuote(mountpoint.string()) + " -o " +
                                     ShellQuote("endpoint=" + dead.endpoint() +
                                                ",timeout=2,cache_dir=" + cache_dir("n").string() +
                                                ",trust=" + key_.string() + ".pub") +
                                     "; exit $?");
  ASSERT_EQ(mounted.exit_code, 0) << mounted.err;
  EXPECT_EQ(ReadFileBytes(mountpoint / "m/1/w.safetensors"), weights);
  guard.Unmount();
  // The daemon lets go of the cache as it exits, a moment after the unmount.
  CommandResult cleared;
  ASSERT_TRUE(WaitFor([&] {
    cleared = Re2po("cache clear --cache-dir " + ShellQuote(cache_dir("n").string()));
    return cleared.exit_code == 0;
  })) << cleared.err;
  stats = Re2po("cache stats --json --cache-dir " + ShellQuote(cache_dir("n").string()));
  EXPECT_EQ(nlohmann::json::parse(stats.out)["chunks"].get<uint64_t>(), 0u) << stats.out;
}

TEST_F(FleetCliTest, PrefetchAtMountFillsTheCacheWithTheNamedModelsOnly) {
  REQUIRE_FUSE();
  const auto wanted = ModelFile(31, 3, kMiB);
  const auto other = ModelFile(32, 3, kMiB);
  Import("wanted", 1, {{"w.safetensors", wanted}});
  Import("other", 1, {{"w.safetensors", other}});
  ASSERT_EQ(Re2po(PushArgs()).exit_code, 0);

  // Mounted with prefetch=wanted, nothing read: the daemon fetches it alone.
  std::unique_ptr<NodeDaemon> node = NewNode("n");
  ASSERT_EQ(node->Mount(MountCommand(*node, ",prefetch=wanted")), "");
  std::optional<NodeStats> stats;
  ASSERT_TRUE(WaitFor(
      [&] {
        stats = ReadNodeStats(node->cache_dir());
        return stats && stats->cache_bytes >= wanted.size() - kMiB;
      },
      std::chrono::seconds(60)))
      << "the cache never held the prefetched model\n"
      << node->Log();
  EXPECT_LT(stats->cache_bytes, wanted.size() + other.size() - kMiB)
      << "more than the named model was prefetched";
  node->Stop();

  // The remote gone, the node serves the prefetched model and fails the other.
  MisbehavingPeer dead(MisbehavingPeer::Mode::kCloseAtOnce);
  const stdfs::path mountpoint = tmp_.path() / "models";
  UnmountGuard guard(mountpoint);
  stdfs::create_directories(mountpoint);
  CommandResult mounted =
      RunCommand(S3Environment() + ShellQuote(BuiltTool("mount.re2po")) + " " + url() + " " +
                 ShellQuote(mountpoint.string()) + " -o " +
                 ShellQuote("endpoint=" + dead.endpoint() + ",timeout=2,cache_dir=" +
                            node->cache_dir().string() + ",trust=" + key_.string() + ".pub") +
                 "; exit $?");
  ASSERT_EQ(mounted.exit_code, 0) << mounted.err;
  EXPECT_EQ(ReadFileBytes(mountpoint / "wanted/1/w.safetensors"), wanted);
  std::ifstream unreadable(mountpoint / "other/1/w.safetensors", std::ios::binary);
  std::vector<char> buffer(other.size());
  unreadable.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  EXPECT_FALSE(unreadable.good()) << "a model that was not prefetched read with the remote down";
}

}  // namespace
}  // namespace re2po::testing
