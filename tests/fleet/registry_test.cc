// The fleet on an OCI registry, as users drive it: `re2po push
// oci://...` from a publisher, `mount.re2po oci://...` on a node that
// trusts the publisher's key, and a copy of the repository made with
// skopeo (a tool that knows nothing of Re2po) mounting and verifying as
// the original does.
#include <nlohmann/json.hpp>

#include <set>

#include "tests/fleet/fleet_processes.h"

namespace re2po::testing {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

class RegistryFleetTest : public FleetProcessTest {
 protected:
  RegistryFleetTest() { on_registry_ = true; }

  std::vector<std::string> Tags(const TestRegistry& registry, const std::string& repository) {
    CommandResult listed =
        RunCommand("curl -sS --max-time 20 " +
                   ShellQuote(registry.base_url() + "/v2/" + repository + "/tags/list"));
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    const nlohmann::json body = nlohmann::json::parse(listed.out, nullptr, false);
    if (body.is_discarded() || !body.contains("tags")) return {};
    return body["tags"].get<std::vector<std::string>>();
  }
};

TEST_F(RegistryFleetTest, PushedVersionsMountFromTheRegistryAndFromASkopeoCopy) {
  REQUIRE_FUSE();
  if (!stdfs::exists("/usr/bin/skopeo")) GTEST_SKIP() << "skopeo is not installed";
  const auto base = ModelFile(1, 4, kMiB);
  auto tuned = base;
  for (size_t i = tuned.size() - 1000; i < tuned.size(); ++i) tuned[i] ^= 0x5a;
  Import("vit", 1, {{"model.safetensors", base}, {"config.json", {'{', '}'}}});
  Import("vit", 2, {{"model.safetensors", tuned}, {"config.json", {'{', '}'}}});
  nlohmann::json pushed;
  ASSERT_TRUE(PushSigned("", pushed));
  EXPECT_EQ(pushed["pushed"].size(), 2u) << pushed.dump();

  // Each version is a tag of its own, beside the catalog and its record.
  const std::vector<std::string> tags = Tags(*registry_, "models/fleet");
  const std::set<std::string> tag_set(tags.begin(), tags.end());
  EXPECT_TRUE(tag_set.contains("vit.v1") && tag_set.contains("vit.v2") &&
              tag_set.contains("catalog") && tag_set.contains("re2po-remote"))
      << nlohmann::json(tags).dump();

  auto node = NewNode("original");
  ASSERT_EQ(node->Mount(MountCommand(*node)), "");
  EXPECT_EQ(ReadFileBytes(node->mountpoint() / "vit/1/model.safetensors"), base);
  EXPECT_EQ(ReadFileBytes(node->mountpoint() / "vit/2/model.safetensors"), tuned);

  // Every tag copied to another registry by skopeo, digests kept.
  std::string why_not;
  auto other = TestRegistry::Start(tmp_.path() / "registry-copy", {}, why_not);
  ASSERT_NE(other, nullptr) << why_not;
  for (const std::string& tag : tags) {
    CommandResult copied = RunCommand(
        "skopeo --insecure-policy copy --preserve-digests --src-tls-verify=false "
        "--dest-tls-verify=false docker://" +
        registry_->host() + "/models/fleet:" + tag + " docker://" + other->host() +
        "/mirror/fleet:" + tag + " 2>&1");
    ASSERT_EQ(copied.exit_code, 0) << "skopeo copy of " << tag << ": " << copied.out;
  }
  const std::string copy_url = other->url("mirror/fleet");
  auto mirrored = NewNode("mirrored");
  const std::string command = MountCommand(*mirrored);
  const size_t at = command.find(url());
  ASSERT_NE(at, std::string::npos);
  ASSERT_EQ(mirrored->Mount(command.substr(0, at) + copy_url + command.substr(at + url().size())),
            "");
  EXPECT_EQ(ReadFileBytes(mirrored->mountpoint() / "vit/1/model.safetensors"), base);
  EXPECT_EQ(ReadFileBytes(mirrored->mountpoint() / "vit/2/model.safetensors"), tuned);
  EXPECT_EQ(ReadFileBytes(mirrored->mountpoint() / "vit/2/config.json"),
            (std::vector<uint8_t>{'{', '}'}));
}

TEST_F(RegistryFleetTest, ANodeThatTrustsAnotherKeyShowsNothingFromTheRegistry) {
  REQUIRE_FUSE();
  Import("vit", 1, {{"model.safetensors", ModelFile(3, 2, kMiB)}});
  nlohmann::json pushed;
  ASSERT_TRUE(PushSigned("", pushed));
  const stdfs::path stranger = tmp_.path() / "keys" / "stranger";
  ASSERT_EQ(Re2po("key generate " + ShellQuote(stranger.string())).exit_code, 0);
  auto node = NewNode("suspicious");
  std::string command = MountCommand(*node);
  const std::string trusted = "trust=" + key_.string() + ".pub";
  const size_t at = command.find(trusted);
  ASSERT_NE(at, std::string::npos);
  command.replace(at, trusted.size(), "trust=" + stranger.string() + ".pub");
  ASSERT_EQ(node->Mount(command), "");
  EXPECT_FALSE(stdfs::exists(node->mountpoint() / "vit"));
  EXPECT_NE(node->Log().find("refused the catalog head"), std::string::npos) << node->Log();
}

}  // namespace
}  // namespace re2po::testing
