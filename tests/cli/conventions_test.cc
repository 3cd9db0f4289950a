// The conventions users bring from git, restic and borg: global options
// before or after the command, checked values, one value per repeated flag,
// one prefix on every error, argument names in upper case in --help.
#include "tests/cli/cli_fixture.h"

namespace re2po::testing {
namespace {
namespace fs = std::filesystem;

class ConventionsTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    WriteFileText(Dir("model") / "w.bin", "weights");
    ASSERT_EQ(Re2po("import base " + Q(Dir("model"))).exit_code, 0);
  }
  // re2po with exactly these arguments: no --store put in front.
  CommandResult Bare(const std::string& args) {
    return RunCommand(ShellQuote(BuiltTool("re2po")) + " " + args);
  }
  std::string StoreOption() { return "--store " + ShellQuote(store_); }
  std::string Listing() { return Re2po("ls --json").out; }
};

TEST_F(ConventionsTest, GlobalOptionsMayFollowTheCommand) {
  CommandResult after = Bare("ls " + StoreOption() + " --json");
  EXPECT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(after.out, Bare(StoreOption() + " ls --json").out);
  CommandResult imported = Bare("import more " + Q(Dir("model")) + " --lock-timeout 5 " +
                                StoreOption() + " --log-level error");
  EXPECT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_NE(Listing().find("more"), std::string::npos);
}

TEST_F(ConventionsTest, TheLastStoreGivenWins) {
  const std::string nowhere = "--store " + Q(Dir("nowhere"));
  EXPECT_EQ(Bare(nowhere + " ls " + StoreOption()).exit_code, 0);
  EXPECT_EQ(Bare(nowhere + " " + StoreOption() + " ls").exit_code, 0);
  CommandResult missing = Bare(StoreOption() + " ls " + nowhere);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no store at"), std::string::npos) << missing.err;
}

TEST_F(ConventionsTest, CommandHelpListsTheGlobalOptions) {
  CommandResult help = Bare("ls --help");
  EXPECT_EQ(help.exit_code, 0);
  for (const char* option : {"--store", "--log-level", "--lock-timeout"}) {
    EXPECT_NE(help.out.find(option), std::string::npos) << option << " in\n" << help.out;
  }
}

TEST_F(ConventionsTest, AnUnknownLogLevelIsAUsageError) {
  for (const std::string args : {"--log-level loud ls", "ls --log-level loud"}) {
    CommandResult result = Re2po(args);
    EXPECT_EQ(result.exit_code, 2) << args;
    EXPECT_TRUE(result.err.starts_with("re2po: error: --log-level: unknown log level 'loud'"))
        << result.err;
    EXPECT_NE(result.err.find("trace, debug, info, warn, error, critical or off"),
              std::string::npos)
        << result.err;
    EXPECT_EQ(result.out, "") << "the command must not have run";
  }
  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    EXPECT_EQ(Re2po(std::string("ls --log-level ") + level).exit_code, 0) << level;
  }
}

TEST_F(ConventionsTest, EachLabelFlagTakesOneValue) {
  ASSERT_EQ(Re2po("import labelled " + Q(Dir("model")) + " -l a=1 --label b=2").exit_code, 0);
  ASSERT_EQ(Re2po("import -l c=3 labelled " + Q(Dir("model"))).exit_code, 0)
      << "a label before the arguments must not take them";
  EXPECT_EQ(Json("show labelled@1")["labels"], (nlohmann::json{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(Json("show labelled@2")["labels"], (nlohmann::json{{"c", "3"}}));

  const std::string before = Listing();
  CommandResult two_values = Re2po("import more " + Q(Dir("model")) + " -l a=1 b=2");
  EXPECT_EQ(two_values.exit_code, 2);
  EXPECT_NE(two_values.err.find("b=2"), std::string::npos) << two_values.err;
  EXPECT_EQ(Listing(), before);
}

TEST_F(ConventionsTest, EveryErrorHasOnePrefix) {
  CommandResult failed = Re2po("show nothing@1");
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_EQ(failed.err, "re2po: error: no model 'nothing' in the store\n");
  CommandResult refused = Re2po("rm base");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.err, "re2po: error: rm needs MODEL@VERSION, got 'base'\n");
  for (const std::string usage : {"ls --no-such-flag", "frobnicate", "import base", ""}) {
    CommandResult result = Re2po(usage);
    EXPECT_EQ(result.exit_code, 2) << usage;
    EXPECT_TRUE(result.err.starts_with("re2po: error: ")) << usage << ": " << result.err;
  }
}

TEST_F(ConventionsTest, HelpNamesArgumentsInUpperCase) {
  const std::map<std::string, std::vector<std::string>> expected = {
      {"import", {"MODEL[@VERSION] PATH", "-l,--label KEY=VALUE"}},
      {"ls", {"[MODEL]"}},
      {"show", {"MODEL[@VERSION]"}},
      {"export", {"MODEL@VERSION DIR"}},
      {"cat", {"MODEL@VERSION PATH"}},
      {"rm", {"MODEL@VERSION"}},
      {"diff", {"A B"}},
      {"mount", {"MOUNTPOINT", "-o OPTIONS"}},
  };
  for (const auto& [command, names] : expected) {
    CommandResult help = Bare(command + " --help");
    EXPECT_EQ(help.exit_code, 0) << command;
    for (const std::string& name : names) {
      EXPECT_NE(help.out.find(name), std::string::npos) << command << ": " << name << " in\n"
                                                        << help.out;
    }
  }
}

TEST_F(ConventionsTest, MountTakesRepeatedOptionFlagsAndGlobalOptionsAfterIt) {
  // With no store the mount stops at "no store at": the arguments were understood.
  fs::create_directories(Dir("mnt"));
  CommandResult result =
      Bare("mount -o ro -o cache_size=64M " + Q(Dir("mnt")) + " --store " + Q(Dir("nowhere")));
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_TRUE(result.err.find("no store at") != std::string::npos ||
              result.err.find("without FUSE support") != std::string::npos)
      << result.err;
}

}  // namespace
}  // namespace re2po::testing
