// packaging/man/re2po.1 against the CLI it documents: every subcommand and
// option that `re2po --help` and `re2po CMD --help` print is in the page,
// the page has the sections admins look for, and it renders cleanly.
// packaging/man/mount.re2po.8 against the mount option parser
// (fs/core/mount_options.cc) and `mount.re2po --help`.
#include "tests/packaging/packaging_fixture.h"

namespace re2po::testing {
namespace {

// Where the COMMANDS section tags `name`'s paragraph: .TP, then
// `.B name`, `.BI "name ...` or `.BR name ...`; npos when it does not.
size_t TagPosition(const std::string& commands, const std::string& name) {
  for (const std::string& tag :
       {".TP\n.B " + name + "\n", ".TP\n.BI \"" + name + " ", ".TP\n.BR " + name + " "}) {
    const size_t at = commands.find(tag);
    if (at != std::string::npos) return at;
  }
  return std::string::npos;
}

class ManPageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    roff_ = ReadText(SourcePath("packaging/man/re2po.1"));
    ASSERT_FALSE(roff_.empty());
    // The page as text: roff's escaped hyphen \- is a plain '-'.
    text_ = roff_;
    for (size_t at; (at = text_.find("\\-")) != std::string::npos;) text_.replace(at, 2, "-");
  }
  std::string Help(const std::string& args) {
    CommandResult help = RunCommand(ShellQuote(BuiltTool("re2po")) + " " + args + " --help");
    EXPECT_EQ(help.exit_code, 0) << help.err;
    return help.out;
  }
  // The lines of one .SH section.
  std::string Section(const std::string& name) const {
    const size_t start = text_.find("\n.SH " + name + "\n");
    if (start == std::string::npos) return "";
    const size_t end = text_.find("\n.SH ", start + 1);
    return text_.substr(start, end == std::string::npos ? std::string::npos : end - start);
  }
  std::string roff_;
  std::string text_;
};

TEST_F(ManPageTest, HasTheStandardSections) {
  for (const char* name : {"NAME", "SYNOPSIS", "DESCRIPTION", "GLOBAL OPTIONS", "COMMANDS",
                           "ENVIRONMENT", "FILES", "EXIT STATUS", "EXAMPLES", "SEE ALSO"}) {
    EXPECT_FALSE(Section(name).empty()) << ".SH " << name;
  }
  EXPECT_NE(Section("ENVIRONMENT").find("RE2PO_STORE"), std::string::npos);
  EXPECT_NE(Section("FILES").find("/var/lib/re2po/store"), std::string::npos);
  EXPECT_NE(Section("FILES").find("/etc/re2po/re2po.conf"), std::string::npos);
  for (const char* code : {".B 0\n", ".B 1\n", ".B 2\n"}) {
    EXPECT_NE(Section("EXIT STATUS").find(code), std::string::npos) << code;
  }
}

TEST_F(ManPageTest, DocumentsEverySubcommandOfTheHelp) {
  const std::vector<std::string> subcommands = HelpSubcommands(Help(""));
  ASSERT_GE(subcommands.size(), 12u);
  const std::string commands = Section("COMMANDS");
  for (const std::string& name : subcommands) {
    EXPECT_NE(TagPosition(commands, name), std::string::npos)
        << "re2po " << name << " is not documented under COMMANDS";
  }
}

TEST_F(ManPageTest, DocumentsEveryOptionOfEverySubcommand) {
  for (const std::string& option : HelpOptions(Help(""))) {
    EXPECT_NE(Section("GLOBAL OPTIONS").find(option), std::string::npos) << option;
  }
  const std::string commands = Section("COMMANDS");
  for (const std::string& name : HelpSubcommands(Help(""))) {
    // Options are searched from the command's own paragraph on.
    const size_t start = TagPosition(commands, name);
    ASSERT_NE(start, std::string::npos) << name;
    for (const std::string& option : HelpOptions(Help(name))) {
      if (option == "-h" || option == "--help") continue;
      EXPECT_NE(commands.find(option, start), std::string::npos)
          << "re2po " << name << " " << option << " is not in the man page";
    }
  }
}

TEST_F(ManPageTest, DocumentsTheMountOptionsTheParserTakes) {
  for (const char* option :
       {"cache_size=", "whole_file_readahead=", "kernel_readahead=", "allow_other",
        "log_level=", "log_file=", "allow_root", "auto_unmount", "fsname=", "subtype=", "_netdev",
        "endpoint=", "cache_dir=", "cache_size_max=", "trust=", "timeout=", "prefetch=",
        "access_log=", "metrics="}) {
    EXPECT_NE(text_.find(option), std::string::npos) << option;
  }
}

// The option names fs/core/mount_options.cc accepts, read from its source:
// the names it compares a key or a whole option with, and the entries of its
// option tables. Names that take a value end with '='.
std::set<std::string> ParserOptionNames() {
  const std::string source = ReadText(SourcePath("fs/core/mount_options.cc"));
  std::set<std::string> names;
  static const std::regex kCompared(R"re((key|option) == "([^"]+)")re");
  for (std::sregex_iterator it(source.begin(), source.end(), kCompared), end; it != end; ++it) {
    names.insert((*it)[2].str() + ((*it)[1] == "key" ? "=" : ""));
  }
  static const std::regex kTable(R"re(std::array<std::string_view, \d+> (k\w+) = \{([^}]*)\})re");
  static const std::regex kString(R"re("([^"]+)")re");
  for (std::sregex_iterator it(source.begin(), source.end(), kTable), end; it != end; ++it) {
    const std::string table = (*it)[1];
    const std::string entries = (*it)[2];
    if (table == "kLevels") continue;  // values of log_level=, not options
    for (std::sregex_iterator e(entries.begin(), entries.end(), kString); e != end; ++e) {
      names.insert((*e)[1].str() + (table == "kRemoteOptions" ? "=" : ""));
    }
  }
  return names;
}

TEST_F(ManPageTest, MountHelperPageDocumentsEveryOptionTheParserTakes) {
  std::string page = ReadText(SourcePath("packaging/man/mount.re2po.8"));
  for (size_t at; (at = page.find("\\-")) != std::string::npos;) page.replace(at, 2, "-");
  const size_t start = page.find("\n.SH MOUNT OPTIONS\n");
  ASSERT_NE(start, std::string::npos);
  const std::string options = page.substr(start, page.find("\n.SH ", start + 1) - start);
  const std::set<std::string> names = ParserOptionNames();
  ASSERT_GE(names.size(), 40u) << "the parser's tables were not found";
  for (const char* remote :
       {"endpoint=", "cache_dir=", "cache_size_max=", "trust=", "timeout=", "prefetch="}) {
    EXPECT_TRUE(names.contains(remote)) << remote << " is no longer a parser option";
  }
  for (const std::string& name : names) {
    EXPECT_NE(options.find(name), std::string::npos)
        << name << " is not under MOUNT OPTIONS in mount.re2po(8)";
  }
  // An option of Re2po's own that takes a value has a paragraph of its own
  // (`.TP` then `.BI name= VALUE`); the libfuse and mount(8) prefixes
  // (fsname=, comment=, ...) are listed together.
  const std::set<std::string> listed = {"fsname=", "subtype=", "comment=", "context=", "helper="};
  for (const std::string& name : names) {
    if (!name.ends_with("=") || listed.contains(name)) continue;
    EXPECT_NE(options.find(".TP\n.BI " + name + " "), std::string::npos)
        << name << " has no paragraph of its own in mount.re2po(8)";
  }
  // What the helper's own usage lists is in the page too.
  CommandResult usage = RunCommand(ShellQuote(BuiltTool("mount.re2po")) + " --help");
  ASSERT_EQ(usage.exit_code, 0) << usage.err;
  static const std::regex kUsed(R"(([a-z_]+)=)");
  for (std::sregex_iterator it(usage.out.begin(), usage.out.end(), kUsed), end; it != end; ++it) {
    EXPECT_NE(options.find((*it)[1].str() + "="), std::string::npos)
        << (*it)[1] << "= of mount.re2po --help is not in mount.re2po(8)";
  }
  for (const char* section : {"\n.SH SYNOPSIS\n", "\n.SH ENVIRONMENT\n", "\n.SS Remotes\n"}) {
    EXPECT_NE(page.find(section), std::string::npos) << section;
  }
  for (const char* variable : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE",
                               "AWS_ENDPOINT_URL", "AWS_REGION"}) {
    EXPECT_NE(page.find(variable), std::string::npos) << variable;
  }
}

TEST_F(ManPageTest, RendersWithoutWarnings) {
  if (FindProgram("groff").empty()) GTEST_SKIP() << "groff is not installed";
  for (const auto& entry : stdfs::directory_iterator(SourcePath("packaging/man"))) {
    CommandResult checked =
        RunCommand("groff -man -Tutf8 -ww -z " + ShellQuote(entry.path().string()));
    EXPECT_EQ(checked.exit_code, 0) << entry.path();
    EXPECT_EQ(checked.err, "") << entry.path();
  }
  if (FindProgram("man").empty()) return;
  CommandResult shown =
      RunCommand("MANWIDTH=80 man -l " + ShellQuote(SourcePath("packaging/man/re2po.1").string()));
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("re2po - a deduplicating repository"), std::string::npos);
}

}  // namespace
}  // namespace re2po::testing
