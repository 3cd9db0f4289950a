// The systemd units under packaging/systemd: systemd-analyze verify accepts
// them, and every command they run names the installed binary with options
// the CLI really has (checked against `re2po --help` and by running them).
#include <unistd.h>

#include "tests/packaging/packaging_fixture.h"

namespace re2po::testing {
namespace {

constexpr const char* kServices[] = {"re2po@.service", "re2po-gc.service", "re2po-verify.service"};
// The remote mount's template: no store, the instance is a remote's name.
constexpr const char* kRemoteService = "re2po-remote@.service";
constexpr const char* kTimers[] = {"re2po-gc.timer", "re2po-verify.timer"};

UnitFile Unit(const std::string& name) {
  return ParseUnit(ReadText(SourcePath("packaging/systemd/" + name)));
}

// What a service's commands see: its Environment= defaults, then
// /etc/re2po/re2po.conf (EnvironmentFile= overrides Environment=).
std::map<std::string, std::string> ServiceEnvironment(const UnitFile& unit) {
  std::map<std::string, std::string> env;
  for (const auto& line : unit.at("Service").at("Environment")) env.merge(ParseAssignments(line));
  for (auto& [key, value] : ParseAssignments(ReadText(SourcePath("packaging/re2po.conf")))) {
    env[key] = value;
  }
  return env;
}

class SystemdUnitTest : public ::testing::Test {
 protected:
  std::string Help(const std::string& args) {
    CommandResult help = RunCommand(ShellQuote(BuiltTool("re2po")) + " " + args + " --help");
    EXPECT_EQ(help.exit_code, 0) << args << ": " << help.err;
    return help.out;
  }
  TempDir scratch_;
};

TEST_F(SystemdUnitTest, SystemdAnalyzeVerifyAcceptsEveryUnit) {
  if (FindProgram("systemd-analyze").empty()) {
    GTEST_SKIP() << "systemd-analyze is not installed (Debian package systemd)";
  }
  // verify insists that ExecStart binaries exist: point them at the build's.
  std::vector<std::string> files;
  for (const auto& entry : stdfs::directory_iterator(SourcePath("packaging/systemd"))) {
    std::string name = entry.path().filename().string();
    std::string text = ReadText(entry.path());
    for (size_t at; (at = text.find("/usr/bin/re2po")) != std::string::npos;) {
      text.replace(at, 14, BuiltTool("re2po"));
    }
    // Templates are verified as an instance.
    if (const size_t at = name.find("@.service"); at != std::string::npos) {
      name.replace(at, 9, "@models.service");
    }
    WriteFileText(scratch_.path() / name, text);
    files.push_back(ShellQuote((scratch_.path() / name).string()));
  }
  std::string command = "cd " + ShellQuote(scratch_.path().string()) +
                        " && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no";
  for (const auto& file : files) command += " " + file;
  CommandResult verified = RunCommand(command);
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_EQ(verified.err, "") << "systemd-analyze complained";
}

TEST_F(SystemdUnitTest, ExecStartNamesTheInstalledBinaryAndRealOptions) {
  const std::set<std::string> global = HelpOptions(Help(""));
  const std::vector<std::string> subcommands = HelpSubcommands(Help(""));
  std::vector<std::string> services(std::begin(kServices), std::end(kServices));
  services.push_back(kRemoteService);
  for (const std::string& name : services) {
    SCOPED_TRACE(name);
    const UnitFile unit = Unit(name);
    const auto& starts = unit.at("Service").at("ExecStart");
    ASSERT_EQ(starts.size(), 1u);
    std::vector<std::string> words =
        ExpandCommand(starts[0], ServiceEnvironment(unit), {{'f', "/models"}, {'i', "models"}});
    ASSERT_GE(words.size(), 2u);
    EXPECT_EQ(words[0], "/usr/bin/re2po");  // tools/CMakeLists.txt installs it in bin
    size_t i = 1;
    for (; i < words.size() && words[i].starts_with("-"); i += 2) {
      EXPECT_TRUE(global.contains(words[i])) << words[i] << " is not a global option";
    }
    ASSERT_LT(i, words.size());
    const std::string command = words[i];
    ASSERT_NE(std::find(subcommands.begin(), subcommands.end(), command), subcommands.end())
        << command << " is not a subcommand";
    const std::set<std::string> own = HelpOptions(Help(command));
    for (size_t j = i + 1; j < words.size(); ++j) {
      if (words[j].starts_with("-")) {
        EXPECT_TRUE(own.contains(words[j])) << words[j];
      }
    }
  }
}

TEST_F(SystemdUnitTest, ExecStartParsesAndFailsOnlyForTheMissingStore) {
  for (const char* name : kServices) {
    SCOPED_TRACE(name);
    const UnitFile unit = Unit(name);
    std::map<std::string, std::string> env = ServiceEnvironment(unit);
    env["RE2PO_STORE"] = (scratch_.path() / "no-store").string();
    const std::vector<std::string> words =
        ExpandCommand(unit.at("Service").at("ExecStart")[0], env,
                      {{'f', (scratch_.path() / "mnt").string()}, {'i', "mnt"}});
    std::string command = ShellQuote(BuiltTool("re2po"));
    for (size_t i = 1; i < words.size(); ++i) command += " " + ShellQuote(words[i]);
    CommandResult ran = RunCommand(command);
    // 2 would be a usage error: an option or argument the CLI does not take.
    EXPECT_EQ(ran.exit_code, 1) << command << "\n" << ran.err;
    const bool understood = ran.err.find("no store at") != std::string::npos ||
                            ran.err.find("without FUSE support") != std::string::npos;
    EXPECT_TRUE(understood) << ran.err;
  }
}

TEST_F(SystemdUnitTest, MountOptionsOfUnitsAndConfigAreAccepted) {
  if (!stdfs::exists(BuiltTool("mount.re2po"))) GTEST_SKIP() << "mount.re2po is not built";
  std::vector<std::string> option_lists = {
      ServiceEnvironment(Unit("re2po@.service")).at("RE2PO_MOUNT_OPTIONS"),
      ParseAssignments(Unit("re2po@.service").at("Service").at("Environment")[0])
          .at("RE2PO_MOUNT_OPTIONS"),
      UnitValue(Unit("models.mount"), "Mount", "Options")};
  for (const std::string& options : option_lists) {
    // -f: mount(8)'s "fake", the helper checks its arguments and mounts nothing.
    CommandResult checked =
        RunCommand(ShellQuote(BuiltTool("mount.re2po")) +
                   " /nonexistent/store /nonexistent/mnt -f -o " + ShellQuote(options));
    EXPECT_EQ(checked.exit_code, 0) << options << ": " << checked.err;
  }
  // The remote unit's, from its defaults and from the config, as for a remote.
  const UnitFile remote = Unit(kRemoteService);
  for (const std::string& options : {ServiceEnvironment(remote).at("RE2PO_REMOTE_MOUNT_OPTIONS"),
                                     ParseAssignments(remote.at("Service").at("Environment")[0])
                                         .at("RE2PO_REMOTE_MOUNT_OPTIONS")}) {
    CommandResult checked =
        RunCommand(ShellQuote(BuiltTool("mount.re2po")) +
                   " s3://models/prod /nonexistent/mnt -f -o " + ShellQuote(options));
    EXPECT_EQ(checked.exit_code, 0) << options << ": " << checked.err;
  }
  CommandResult bogus = RunCommand(ShellQuote(BuiltTool("mount.re2po")) +
                                   " /nonexistent/store /nonexistent/mnt -f -o bogus_option");
  EXPECT_EQ(bogus.exit_code, 1) << "the fake mount does not check options";
}

TEST_F(SystemdUnitTest, DefaultsAgreeWithTheConfigAndTheCli) {
  const std::string conf_store =
      ParseAssignments(ReadText(SourcePath("packaging/re2po.conf"))).at("RE2PO_STORE");
  EXPECT_EQ(conf_store, "/var/lib/re2po/store");
  for (const char* name : kServices) {
    const UnitFile unit = Unit(name);
    EXPECT_EQ(ParseAssignments(unit.at("Service").at("Environment")[0]).at("RE2PO_STORE"),
              conf_store)
        << name;
    EXPECT_EQ(UnitValue(unit, "Unit", "RequiresMountsFor"), "/var/lib/re2po") << name;
    const auto& files = unit.at("Service").at("EnvironmentFile");
    EXPECT_EQ(files[0], "-/etc/re2po/re2po.conf") << name;
  }
  EXPECT_EQ(UnitValue(Unit("models.mount"), "Mount", "What"), conf_store);
  if (::geteuid() == 0) {  // root's default store is the packaged one
    EXPECT_NE(Help("").find("else " + conf_store + ")"), std::string::npos) << Help("");
  }
}

TEST_F(SystemdUnitTest, TemplateServesInTheForegroundAndStopsWithSigterm) {
  const UnitFile unit = Unit("re2po@.service");
  const std::vector<std::string> words =
      ExpandCommand(unit.at("Service").at("ExecStart")[0], {}, {{'f', "/models"}});
  EXPECT_NE(std::find(words.begin(), words.end(), "mount"), words.end());
  EXPECT_NE(std::find(words.begin(), words.end(), "--foreground"), words.end());
  EXPECT_EQ(words.back(), "/models");
  EXPECT_EQ(UnitValue(unit, "Service", "Type"), "exec");
  EXPECT_EQ(UnitValue(unit, "Service", "KillSignal"), "SIGTERM");
  EXPECT_EQ(UnitValue(unit, "Service", "Restart"), "on-failure");
  EXPECT_EQ(UnitValue(unit, "Install", "WantedBy"), "multi-user.target");
  // Sandboxing would hide the mount in a private namespace.
  for (const char* key : {"PrivateTmp", "ProtectSystem", "PrivateMounts", "ProtectHome"}) {
    EXPECT_FALSE(unit.at("Service").contains(key)) << key;
  }
}

TEST_F(SystemdUnitTest, StartPostWaitsForTheMountpoint) {
  const UnitFile unit = Unit("re2po@.service");
  std::string line = unit.at("Service").at("ExecStartPost")[0];
  for (size_t at; (at = line.find("$$")) != std::string::npos;) line.replace(at, 2, "$");
  const std::vector<std::string> words = ExpandCommand(line, {}, {{'f', "/proc"}});
  ASSERT_EQ(words.size(), 5u);  // /bin/sh -c SCRIPT NAME MOUNTPOINT
  EXPECT_EQ(words[0], "/bin/sh");
  std::string command;
  for (const auto& word : words) command += ShellQuote(word) + " ";
  EXPECT_EQ(RunCommand(command).exit_code, 0) << command;  // /proc is a mountpoint
}

// A remotes file naming `name` (RE2PO_REMOTES points the CLI at it).
stdfs::path WriteRemotesFile(const stdfs::path& dir, const std::string& name) {
  const stdfs::path path = dir / "remotes.json";
  WriteFileText(path, "{\"remotes\": {\"" + name + "\": {\"url\": \"s3://models/prod\"}}}\n");
  return path;
}

TEST_F(SystemdUnitTest, RemoteTemplateMountsTheNamedRemoteInTheForeground) {
  const UnitFile unit = Unit(kRemoteService);
  std::map<std::string, std::string> env = ServiceEnvironment(unit);
  // Only the system's remotes file: root's own would depend on whoever ran
  // `re2po remote add` last.
  EXPECT_EQ(env.at("RE2PO_REMOTES"), "/etc/re2po/remotes.json");
  EXPECT_EQ(env.at("RE2PO_REMOTE_MOUNTPOINT"), "/models");
  const std::vector<std::string> words =
      ExpandCommand(unit.at("Service").at("ExecStart")[0], env, {{'i', "prod"}});
  EXPECT_NE(std::find(words.begin(), words.end(), "mount"), words.end());
  EXPECT_NE(std::find(words.begin(), words.end(), "--foreground"), words.end());
  const auto remote = std::find(words.begin(), words.end(), "--remote");
  ASSERT_NE(remote, words.end());
  ASSERT_NE(remote + 1, words.end());
  EXPECT_EQ(*(remote + 1), "prod") << "the instance names the remote";
  EXPECT_EQ(words.back(), "/models");
  EXPECT_EQ(UnitValue(unit, "Service", "Type"), "exec");
  EXPECT_EQ(UnitValue(unit, "Service", "KillSignal"), "SIGTERM");
  EXPECT_EQ(UnitValue(unit, "Service", "Restart"), "on-failure");
  EXPECT_EQ(UnitValue(unit, "Install", "WantedBy"), "multi-user.target");
  const auto& files = unit.at("Service").at("EnvironmentFile");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0], "-/etc/re2po/re2po.conf");
  EXPECT_EQ(files[1], "-/etc/re2po/remote-%i.conf");
  EXPECT_NE(UnitValue(unit, "Unit", "After").find("network-online.target"), std::string::npos);
  EXPECT_EQ(UnitValue(unit, "Unit", "Wants"), "network-online.target");
  for (const char* key : {"PrivateTmp", "ProtectSystem", "PrivateMounts", "ProtectHome"}) {
    EXPECT_FALSE(unit.at("Service").contains(key)) << key;
  }

  // Run with the built CLI: the named remote resolves and the options parse;
  // it stops at the missing mountpoint, before any request to S3.
  env["RE2PO_REMOTES"] = WriteRemotesFile(scratch_.path(), "prod").string();
  env["RE2PO_REMOTE_MOUNTPOINT"] = (scratch_.path() / "no-mountpoint").string();
  const auto run = [&](const std::string& instance) {
    const std::vector<std::string> argv =
        ExpandCommand(unit.at("Service").at("ExecStart")[0], env, {{'i', instance}});
    std::string command =
        "RE2PO_REMOTES=" + ShellQuote(env["RE2PO_REMOTES"]) + " " + ShellQuote(BuiltTool("re2po"));
    for (size_t i = 1; i < argv.size(); ++i) command += " " + ShellQuote(argv[i]);
    return RunCommand(command);
  };
  CommandResult ran = run("prod");
  EXPECT_EQ(ran.exit_code, 1) << ran.err;  // 2 would be a usage error
  const bool understood = ran.err.find("no-mountpoint") != std::string::npos ||
                          ran.err.find("without FUSE support") != std::string::npos;
  EXPECT_TRUE(understood) << ran.err;
  CommandResult unknown = run("other");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no remote named 'other'"), std::string::npos) << unknown.err;
}

TEST_F(SystemdUnitTest, RemoteStartPostWaitsForItsMountpoint) {
  const UnitFile unit = Unit(kRemoteService);
  std::string line = unit.at("Service").at("ExecStartPost")[0];
  for (size_t at; (at = line.find("$$")) != std::string::npos;) line.replace(at, 2, "$");
  const std::vector<std::string> words =
      ExpandCommand(line, {{"RE2PO_REMOTE_MOUNTPOINT", "/proc"}}, {});
  ASSERT_EQ(words.size(), 5u);  // /bin/sh -c SCRIPT NAME MOUNTPOINT
  EXPECT_EQ(words.back(), "/proc");
  std::string command;
  for (const auto& word : words) command += ShellQuote(word) + " ";
  EXPECT_EQ(RunCommand(command).exit_code, 0) << command;  // /proc is a mountpoint
  const std::vector<std::string> pre = ExpandCommand(unit.at("Service").at("ExecStartPre")[0],
                                                     {{"RE2PO_REMOTE_MOUNTPOINT", "/models"}}, {});
  EXPECT_EQ(pre, (std::vector<std::string>{"/bin/mkdir", "-p", "/models"}));
}

TEST_F(SystemdUnitTest, TimersStartTheirServicesAndParse) {
  for (const char* name : kTimers) {
    SCOPED_TRACE(name);
    const UnitFile timer = Unit(name);
    const std::string service =
        std::string(name).replace(std::string(name).find(".timer"), 6, ".service");
    EXPECT_TRUE(stdfs::exists(SourcePath("packaging/systemd/" + service)));
    EXPECT_EQ(UnitValue(timer, "Timer", "Persistent"), "true");
    EXPECT_EQ(UnitValue(timer, "Install", "WantedBy"), "timers.target");
    const std::string calendar = UnitValue(timer, "Timer", "OnCalendar");
    ASSERT_FALSE(calendar.empty());
    if (!FindProgram("systemd-analyze").empty()) {
      CommandResult parsed = RunCommand("systemd-analyze calendar " + ShellQuote(calendar));
      EXPECT_EQ(parsed.exit_code, 0) << parsed.err;
    }
    EXPECT_EQ(UnitValue(Unit(service), "Service", "Type"), "oneshot");
  }
}

TEST_F(SystemdUnitTest, ExampleMountUnitIsNamedForItsMountpoint) {
  const UnitFile unit = Unit("models.mount");
  EXPECT_EQ(UnitValue(unit, "Mount", "Type"), "fuse.re2po");
  const std::string where = UnitValue(unit, "Mount", "Where");
  EXPECT_EQ(where, "/models");
  if (!FindProgram("systemd-escape").empty()) {
    EXPECT_EQ(Trim(RunCommand("systemd-escape --path --suffix=mount " + where).out),
              "models.mount");
  }
}

}  // namespace
}  // namespace re2po::testing
