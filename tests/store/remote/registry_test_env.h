// A real OCI registry for one test (CNCF Distribution, Debian's
// docker-registry), started by tools/engines/registry.sh on a loopback port
// of its own and stopped by its pid when the test ends. It starts in well
// under a second, so each test gets a fresh one.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "store/remote/oci_store.h"
#include "tests/store/remote/remote_test_env.h"
#include "tests/testutil/testutil.h"

namespace re2po::testing {

struct RegistryMode {
  bool htpasswd = false;       // basic auth with the script's test user
  bool token = false;          // the Bearer flow, tokens from tools/engines/token_server.py
  std::filesystem::path ceph;  // non-empty: the S3 storage driver on this Ceph (redirects)
  std::string bucket;          // for the S3 driver
};

class TestRegistry {
 public:
  // Started, or why not (the caller fails or skips with it).
  static std::unique_ptr<TestRegistry> Start(const std::filesystem::path& dir,
                                             const RegistryMode& mode, std::string& why_not) {
    const std::string script = std::string(RE2PO_SOURCE_DIR) + "/tools/engines/registry.sh";
    std::string env;
    if (mode.htpasswd) env += "RE2PO_REGISTRY_AUTH=htpasswd ";
    if (mode.token) env += "RE2PO_REGISTRY_AUTH=token ";
    if (!mode.ceph.empty()) {
      env += "RE2PO_REGISTRY_STORAGE=s3 RE2PO_CEPH_DIR=" + ShellQuote(mode.ceph.string()) +
             " RE2PO_REGISTRY_BUCKET=" + mode.bucket + " ";
    }
    // A port from the pid, then others: tests run in parallel processes.
    for (int attempt = 0; attempt < 8; ++attempt) {
      const int port = 15100 + static_cast<int>((getpid() * 7 + attempt * 211) % 4000);
      CommandResult started =
          RunCommand(env + "RE2PO_REGISTRY_PORT=" + std::to_string(port) + " " +
                     ShellQuote(script) + " start " + ShellQuote(dir.string()) + " 2>&1");
      if (started.exit_code == 0) {
        auto registry = std::unique_ptr<TestRegistry>(new TestRegistry(script, dir));
        if (registry->values_.contains("RE2PO_REGISTRY")) return registry;
        why_not = "registry.sh wrote no RE2PO_REGISTRY in " + (dir / "registry.env").string();
        return nullptr;
      }
      why_not = "registry.sh start failed: " + started.out;
      if (started.out.find("in use") == std::string::npos) return nullptr;
    }
    return nullptr;
  }

  ~TestRegistry() {
    RunCommand(ShellQuote(script_) + " stop " + ShellQuote(dir_.string()) + " 2>&1");
  }
  TestRegistry(const TestRegistry&) = delete;
  TestRegistry& operator=(const TestRegistry&) = delete;

  std::string host() const { return values_.at("RE2PO_REGISTRY"); }
  std::string base_url() const { return values_.at("RE2PO_REGISTRY_URL"); }
  std::string url(const std::string& repository) const {
    return "oci://" + host() + "/" + repository;
  }
  std::string user() const { return Value("RE2PO_REGISTRY_USER"); }
  std::string password() const { return Value("RE2PO_REGISTRY_PASSWORD"); }
  std::filesystem::path log() const { return dir_ / "log" / "registry.log"; }
  std::filesystem::path token_log() const { return dir_ / "log" / "token.log"; }
  const std::filesystem::path& dir() const { return dir_; }

  // An auth file (REGISTRY_AUTH_FILE's format) that names this registry.
  std::filesystem::path WriteAuthFile(const std::filesystem::path& path,
                                      const std::string& password) const {
    std::ofstream out(path);
    out << R"({"auths": {")" << host() << R"(": {"auth": ")"
        << Base64Encode(user() + ":" + password) << "\"}}}\n";
    return path;
  }

  std::string LogText() const {
    std::ifstream in(log());
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  TestRegistry(std::string script, std::filesystem::path dir)
      : script_(std::move(script)),
        dir_(std::move(dir)),
        values_(ReadEnvFile(dir_ / "registry.env")) {}

  std::string Value(const std::string& key) const {
    auto it = values_.find(key);
    return it == values_.end() ? "" : it->second;
  }

  std::string script_;
  std::filesystem::path dir_;
  std::map<std::string, std::string> values_;
};

// Skips unless this machine can run a registry (root, Debian's package).
#define REQUIRE_REGISTRY_PACKAGE()                                           \
  if (getuid() != 0 && !std::filesystem::exists("/usr/bin/docker-registry")) \
  GTEST_SKIP() << "docker-registry is not installed and this is not root to install it"

}  // namespace re2po::testing
