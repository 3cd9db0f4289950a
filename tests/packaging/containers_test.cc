// packaging/container/Dockerfile and packaging/kubernetes/*.yaml cannot run
// here (no container engine, no cluster). These checks make sure they parse
// and use what the code really uses: the re2po command line and mount
// options (run against the built binaries), the packaged store path, the
// mountpoint, /dev/fuse and the mount propagation modes.
#include <fnmatch.h>

#include <nlohmann/json.hpp>

#include "tests/packaging/packaging_fixture.h"

namespace re2po::testing {
namespace {

using nlohmann::json;

// All documents of a YAML file, as JSON (PyYAML's safe loader).
json LoadYaml(const std::string& relative) {
  const std::string script =
      "import json, sys, yaml\n"
      "print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))\n";
  CommandResult loaded = RunCommand("/usr/bin/python3 -c " + ShellQuote(script) + " " +
                                    ShellQuote(SourcePath(relative).string()));
  EXPECT_EQ(loaded.exit_code, 0) << relative << ": " << loaded.err;
  return loaded.exit_code == 0 ? json::parse(loaded.out) : json::array();
}

// What a `re2po ... mount ...` argument list asks for.
struct MountCommand {
  std::string store;
  std::string mountpoint;
  std::string options;  // the -o value
  bool foreground = false;
  std::map<std::string, std::string> values;  // --remote, --cache-dir, ... with their values
};

// Reads argv the way the CLI does (global options, `mount`, its options and
// the mountpoint) and checks each option against `re2po --help`.
MountCommand ParseMountArgv(const std::vector<std::string>& argv) {
  MountCommand command;
  const std::string re2po = ShellQuote(BuiltTool("re2po"));
  const std::set<std::string> global = HelpOptions(RunCommand(re2po + " --help").out);
  const std::set<std::string> own = HelpOptions(RunCommand(re2po + " mount --help").out);
  EXPECT_EQ(argv.at(0), "re2po");
  size_t i = 1;
  for (; i < argv.size() && argv[i].starts_with("-"); i += 2) {
    EXPECT_TRUE(global.contains(argv[i])) << argv[i];
    if (argv[i] == "--store") command.store = argv.at(i + 1);
  }
  EXPECT_EQ(argv.at(i), "mount");
  for (++i; i < argv.size(); ++i) {
    if (argv[i] == "-o") {
      command.options = argv.at(++i);
    } else if (argv[i] == "--foreground" || argv[i] == "-f") {
      command.foreground = true;
    } else if (argv[i].starts_with("-")) {
      // Every other option of `mount` takes a value (--remote, --trust, ...).
      EXPECT_TRUE(own.contains(argv[i])) << argv[i];
      command.values[argv[i]] = argv.at(i + 1);
      ++i;
    } else {
      command.mountpoint = argv[i];
    }
  }
  return command;
}

// Runs argv with the built re2po and a store that does not exist: exit 1
// with "no store at" means every option and argument was understood.
void ExpectCliAccepts(std::vector<std::string> argv, const std::string& missing_store) {
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == "--store") argv[i + 1] = missing_store;
  }
  std::string line = ShellQuote(BuiltTool("re2po"));
  for (size_t i = 1; i < argv.size(); ++i) line += " " + ShellQuote(argv[i]);
  CommandResult ran = RunCommand(line);
  EXPECT_EQ(ran.exit_code, 1) << line << "\n" << ran.err;
  EXPECT_TRUE(ran.err.find("no store at") != std::string::npos ||
              ran.err.find("without FUSE support") != std::string::npos)
      << ran.err;
}

void ExpectMountOptionsAccepted(const std::string& options,
                                const std::string& source = "/nonexistent/store") {
  if (!stdfs::exists(BuiltTool("mount.re2po"))) return;
  CommandResult checked =
      RunCommand(ShellQuote(BuiltTool("mount.re2po")) + " " + ShellQuote(source) +
                 " /nonexistent/mnt -f -o " + ShellQuote(options));
  EXPECT_EQ(checked.exit_code, 0) << options << ": " << checked.err;
}

// Runs a remote mount's argv with the built re2po and its mountpoint
// replaced by a directory that does not exist: the CLI resolves the remote
// and parses every option, then stops before any request to S3.
void ExpectCliAcceptsRemoteMount(std::vector<std::string> argv, const std::string& mountpoint,
                                 const std::string& missing) {
  std::string line = ShellQuote(BuiltTool("re2po"));
  for (size_t i = 1; i < argv.size(); ++i) {
    line += " " + ShellQuote(argv[i] == mountpoint ? missing : argv[i]);
  }
  CommandResult ran = RunCommand(line);
  EXPECT_EQ(ran.exit_code, 1) << line << "\n" << ran.err;  // 2: a usage error
  EXPECT_TRUE(ran.err.find(missing) != std::string::npos ||
              ran.err.find("without FUSE support") != std::string::npos)
      << ran.err;
}

std::vector<std::string> Strings(const json& list) {
  return list.is_array() ? list.get<std::vector<std::string>>() : std::vector<std::string>{};
}

const json& VolumeNamed(const json& pod_spec, const std::string& name) {
  for (const json& volume : pod_spec.at("volumes")) {
    if (volume.at("name") == name) return volume;
  }
  throw std::runtime_error("no volume " + name);
}

// The hostPath volume mounted at `mount_path`, with its volumeMount.
std::pair<json, json> HostPathAt(const json& pod_spec, const json& container,
                                 const std::string& mount_path) {
  for (const json& mount : container.at("volumeMounts")) {
    if (mount.at("mountPath") == mount_path) {
      return {VolumeNamed(pod_spec, mount.at("name")).at("hostPath"), mount};
    }
  }
  ADD_FAILURE() << "nothing mounted at " << mount_path;
  return {json::object(), json::object()};
}

class ContainerFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PythonHasModules({"yaml"})) {
      GTEST_SKIP() << "/usr/bin/python3 has no yaml module (Debian package python3-yaml)";
    }
  }
  TempDir scratch_;
};

// A one-document DaemonSet manifest with one privileged container, checked
// for what every DaemonSet here shares; its argv is empty on a failure.
struct DaemonSetPod {
  json spec;
  json container;
  std::vector<std::string> argv;
};

DaemonSetPod LoadDaemonSet(const std::string& path) {
  const json docs = LoadYaml(path);
  if (docs.size() != 1u) {
    ADD_FAILURE() << path << " holds " << docs.size() << " documents, not 1";
    return {};
  }
  const json& ds = docs[0];
  EXPECT_EQ(ds.at("apiVersion"), "apps/v1");
  EXPECT_EQ(ds.at("kind"), "DaemonSet");
  const json& template_ = ds.at("spec").at("template");
  EXPECT_EQ(ds.at("spec").at("selector").at("matchLabels"), template_.at("metadata").at("labels"));
  DaemonSetPod pod{template_.at("spec"), json::object(), {}};
  if (pod.spec.at("containers").size() != 1u) {
    ADD_FAILURE() << path << " has more than one container";
    return {};
  }
  pod.container = pod.spec.at("containers")[0];
  EXPECT_EQ(pod.container.at("securityContext").at("privileged"), true);
  pod.argv = Strings(pod.container.at("command"));
  for (const auto& arg : Strings(pod.container.at("args"))) pod.argv.push_back(arg);
  return pod;
}

TEST_F(ContainerFilesTest, DaemonSetMountsTheHostStoreOnHostModels) {
  const DaemonSetPod pod = LoadDaemonSet("packaging/kubernetes/daemonset.yaml");
  ASSERT_FALSE(pod.argv.empty());
  const json& spec = pod.spec;
  const json& container = pod.container;
  const std::vector<std::string>& argv = pod.argv;
  const MountCommand command = ParseMountArgv(argv);
  EXPECT_TRUE(command.foreground) << "the container's main process must be the daemon";
  EXPECT_EQ(command.store, "/var/lib/re2po/store");
  EXPECT_EQ(command.mountpoint, "/models");
  ExpectCliAccepts(argv, (scratch_.path() / "no-store").string());
  ExpectMountOptionsAccepted(command.options);

  auto [fuse, fuse_mount] = HostPathAt(spec, container, "/dev/fuse");
  EXPECT_EQ(fuse.value("path", ""), "/dev/fuse");
  EXPECT_EQ(fuse.value("type", ""), "CharDevice");
  auto [store, store_mount] = HostPathAt(spec, container, command.store);
  EXPECT_EQ(store.value("path", ""), "/var/lib/re2po/store");  // the packaged default
  auto [models, models_mount] = HostPathAt(spec, container, command.mountpoint);
  EXPECT_EQ(models.value("path", ""), "/models");
  EXPECT_EQ(models_mount.value("mountPropagation", ""), "Bidirectional");

  const std::vector<std::string> pre_stop =
      Strings(container.at("lifecycle").at("preStop").at("exec").at("command"));
  ASSERT_FALSE(pre_stop.empty());
  EXPECT_TRUE(pre_stop[0] == "umount" || pre_stop[0] == "fusermount3") << pre_stop[0];
  EXPECT_EQ(pre_stop.back(), command.mountpoint);
}

// The volumeMount of `container` whose mountPath holds `path`, and its volume.
std::pair<json, json> VolumeHolding(const json& pod_spec, const json& container,
                                    const std::string& path) {
  for (const json& mount : container.at("volumeMounts")) {
    const std::string at = mount.at("mountPath");
    if (path == at || path.starts_with(at + "/")) {
      return {VolumeNamed(pod_spec, mount.at("name")), mount};
    }
  }
  ADD_FAILURE() << "no volume holds " << path;
  return {json::object(), json::object()};
}

TEST_F(ContainerFilesTest, RemoteDaemonSetMountsTheRemoteOnHostModels) {
  const DaemonSetPod pod = LoadDaemonSet("packaging/kubernetes/remote-daemonset.yaml");
  ASSERT_FALSE(pod.argv.empty());
  const json& spec = pod.spec;
  const json& container = pod.container;
  const std::vector<std::string>& argv = pod.argv;
  const MountCommand command = ParseMountArgv(argv);
  EXPECT_TRUE(command.foreground) << "the container's main process must be the daemon";
  ASSERT_TRUE(command.values.contains("--remote"));
  const std::string url = command.values.at("--remote");
  EXPECT_TRUE(url.starts_with("s3://")) << url;
  EXPECT_EQ(command.mountpoint, "/models");
  ExpectCliAcceptsRemoteMount(argv, command.mountpoint,
                              (scratch_.path() / "no-mountpoint").string());
  ExpectMountOptionsAccepted(command.options, url);

  // Credentials only as environment variables from a Secret: never in the
  // arguments, never as literal values in the manifest.
  for (const std::string& arg : argv) {
    EXPECT_EQ(arg.find("AWS_"), std::string::npos) << arg;
    EXPECT_EQ(arg.find("aws_secret"), std::string::npos) << arg;
  }
  std::set<std::string> from_secrets;
  for (const json& var : container.at("env")) {
    const std::string name = var.at("name");
    if (var.contains("valueFrom") && var.at("valueFrom").contains("secretKeyRef")) {
      from_secrets.insert(name);
    }
    if (name == "AWS_SECRET_ACCESS_KEY" || name == "AWS_ACCESS_KEY_ID" ||
        name == "AWS_SESSION_TOKEN") {
      EXPECT_FALSE(var.contains("value")) << name << " has a literal value";
    }
  }
  EXPECT_TRUE(from_secrets.contains("AWS_ACCESS_KEY_ID"));
  EXPECT_TRUE(from_secrets.contains("AWS_SECRET_ACCESS_KEY"));

  auto [fuse, fuse_mount] = HostPathAt(spec, container, "/dev/fuse");
  EXPECT_EQ(fuse.value("path", ""), "/dev/fuse");
  EXPECT_EQ(fuse.value("type", ""), "CharDevice");
  auto [models, models_mount] = HostPathAt(spec, container, command.mountpoint);
  EXPECT_EQ(models.value("path", ""), "/models");
  EXPECT_EQ(models_mount.value("mountPropagation", ""), "Bidirectional");
  // The node cache outlives the pod: a host directory, not an emptyDir.
  ASSERT_TRUE(command.values.contains("--cache-dir"));
  auto [cache, cache_mount] = VolumeHolding(spec, container, command.values.at("--cache-dir"));
  ASSERT_TRUE(cache.contains("hostPath")) << cache.dump();
  EXPECT_EQ(cache.at("hostPath").value("path", ""), cache_mount.value("mountPath", ""));
  // The publisher's public key, read-only from a ConfigMap.
  ASSERT_TRUE(command.values.contains("--trust"));
  auto [trust, trust_mount] = VolumeHolding(spec, container, command.values.at("--trust"));
  EXPECT_TRUE(trust.contains("configMap")) << trust.dump();
  EXPECT_EQ(trust_mount.value("readOnly", false), true);

  const std::vector<std::string> pre_stop =
      Strings(container.at("lifecycle").at("preStop").at("exec").at("command"));
  ASSERT_FALSE(pre_stop.empty());
  EXPECT_TRUE(pre_stop[0] == "umount" || pre_stop[0] == "fusermount3") << pre_stop[0];
  EXPECT_EQ(pre_stop.back(), command.mountpoint);
  const std::vector<std::string> ready =
      Strings(container.at("readinessProbe").at("exec").at("command"));
  ASSERT_FALSE(ready.empty());
  EXPECT_EQ(ready.back(), command.mountpoint);
}

TEST_F(ContainerFilesTest, FunctionPodReadsTheHostMountReadOnly) {
  const json docs = LoadYaml("packaging/kubernetes/function-pod.yaml");
  ASSERT_EQ(docs.size(), 1u);
  const json& pod = docs[0];
  EXPECT_EQ(pod.at("kind"), "Pod");
  const json& spec = pod.at("spec");
  std::vector<json> containers = spec.at("containers").get<std::vector<json>>();
  for (const json& init : spec.value("initContainers", json::array())) containers.push_back(init);
  ASSERT_GE(containers.size(), 2u);
  for (const json& container : containers) {
    SCOPED_TRACE(container.value("name", ""));
    auto [models, mount] = HostPathAt(spec, container, "/models");
    EXPECT_EQ(models.value("path", ""), "/models");  // where the DaemonSet mounts on the host
    EXPECT_EQ(mount.value("readOnly", false), true);
    EXPECT_EQ(mount.value("mountPropagation", ""), "HostToContainer");
  }
  // The init container waits for a model under /models.
  const std::vector<std::string> wait = Strings(spec.at("initContainers")[0].at("command"));
  ASSERT_FALSE(wait.empty());
  EXPECT_NE(wait.back().find("/models/"), std::string::npos) << wait.back();
}

TEST_F(ContainerFilesTest, TfServingPodReadsTheHostMountReadOnly) {
  const json docs = LoadYaml("packaging/kubernetes/tf-serving-pod.yaml");
  ASSERT_EQ(docs.size(), 1u);
  const json& pod = docs[0];
  EXPECT_EQ(pod.at("kind"), "Pod");
  const json& spec = pod.at("spec");
  const json& container = spec.at("containers")[0];
  auto [models, mount] = HostPathAt(spec, container, "/models");
  EXPECT_EQ(models.value("path", ""), "/models");  // where the DaemonSet mounts on the host
  EXPECT_EQ(mount.value("readOnly", false), true);
  EXPECT_EQ(mount.value("mountPropagation", ""), "HostToContainer");

  std::map<std::string, std::string> flags;
  for (const std::string& arg : Strings(container.at("args"))) {
    const size_t eq = arg.find('=');
    flags[arg.substr(0, eq)] = eq == std::string::npos ? "" : arg.substr(eq + 1);
  }
  const std::string model = flags["--model_name"];
  ASSERT_FALSE(model.empty());
  EXPECT_EQ(flags["--model_base_path"], "/models/" + model);  // /models/<model>/<version>/
  EXPECT_EQ(flags["--file_system_poll_wait_seconds"], "1");
}

TEST_F(ContainerFilesTest, DockerfileInstallsThePackageAndRunsTheDaemon) {
  const std::string text = ReadText(SourcePath("packaging/container/Dockerfile"));
  std::map<std::string, std::vector<std::string>> instructions;
  std::string joined;  // continuation lines joined
  for (const std::string& raw : Lines(text)) {
    const std::string line = Trim(raw);
    if (line.empty() || line[0] == '#') continue;
    joined += line;
    if (joined.back() == '\\') {
      joined.pop_back();
      continue;
    }
    const size_t space = joined.find(' ');
    instructions[joined.substr(0, space)].push_back(Trim(joined.substr(space + 1)));
    joined.clear();
  }
  ASSERT_EQ(instructions["FROM"].size(), 1u);
  const std::string base = instructions["FROM"][0];
  EXPECT_TRUE(base.starts_with("debian:12") || base.starts_with("debian:bookworm")) << base;

  ASSERT_EQ(instructions["COPY"].size(), 1u);
  const std::string pattern = instructions["COPY"][0].substr(0, instructions["COPY"][0].find(' '));
  const std::string deb = "re2po_" + ConfiguredPackageVersion() + "_amd64.deb";
  EXPECT_EQ(::fnmatch(pattern.c_str(), deb.c_str(), 0), 0) << pattern << " vs " << deb;
  ASSERT_EQ(instructions["RUN"].size(), 1u);
  const std::string& run = instructions["RUN"][0];
  EXPECT_NE(run.find("apt-get install"), std::string::npos);
  EXPECT_NE(run.find(" fuse3 "), std::string::npos);
  // Remotes over https:// check certificates against the system CA store.
  EXPECT_NE(run.find(" ca-certificates "), std::string::npos);
  EXPECT_NE(run.find(pattern), std::string::npos);

  ASSERT_EQ(instructions["ENTRYPOINT"].size(), 1u);
  const std::vector<std::string> argv =
      json::parse(instructions["ENTRYPOINT"][0]).get<std::vector<std::string>>();
  const MountCommand command = ParseMountArgv(argv);
  EXPECT_TRUE(command.foreground);
  EXPECT_EQ(command.store, "/var/lib/re2po/store");
  EXPECT_EQ(command.mountpoint, "/models");
  EXPECT_NE(command.options.find("allow_other"), std::string::npos);
  ExpectCliAccepts(argv, (scratch_.path() / "no-store").string());
  ExpectMountOptionsAccepted(command.options);
  EXPECT_EQ(instructions["STOPSIGNAL"], std::vector<std::string>{"SIGTERM"});
}

}  // namespace
}  // namespace re2po::testing
