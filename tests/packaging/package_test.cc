// The Debian package: built by CPack from this build tree (packaging/cpack.cmake),
// extracted with dpkg-deb -x into a scratch root, never installed. Checks
// what an admin gets: binaries that run against the system's libraries, the
// helper name mount(8) looks up, man pages, units, the conffile, and Depends
// that cover every library the binaries link.
#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "tests/packaging/packaging_fixture.h"

namespace re2po::testing {
namespace {

class PackageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (FindProgram("dpkg-deb").empty()) GTEST_SKIP() << "dpkg-deb is not installed";
    if (FindProgram("cpack").empty()) GTEST_SKIP() << "cpack is not installed";
    std::string error;
    deb_ = BuiltPackage(error);
    ASSERT_FALSE(deb_.empty()) << error;
    CommandResult extracted = RunCommand("dpkg-deb -x " + ShellQuote(deb_.string()) + " " +
                                         ShellQuote(root_.path().string()));
    ASSERT_EQ(extracted.exit_code, 0) << extracted.err;
  }

  stdfs::path Installed(const std::string& path) const { return root_.path() / path; }

  // A field of the control file (dpkg-deb -f).
  std::string Field(const std::string& name) const {
    return Trim(RunCommand("dpkg-deb -f " + ShellQuote(deb_.string()) + " " + name).out);
  }

  // Runs a packaged program with the system's library paths only.
  CommandResult RunInstalled(const std::string& path, const std::string& args) const {
    return RunCommand("env -u LD_LIBRARY_PATH " + ShellQuote(Installed(path).string()) + " " +
                      args);
  }

  TempDir root_;
  stdfs::path deb_;
};

TEST_F(PackageTest, FileNameAndControlFieldsFollowDebian) {
  const std::string arch = Trim(RunCommand("dpkg --print-architecture").out);
  EXPECT_EQ(Field("Package"), "re2po");
  EXPECT_EQ(Field("Version"), ConfiguredPackageVersion());
  EXPECT_EQ(Field("Architecture"), arch);
  EXPECT_EQ(deb_.filename().string(), "re2po_" + Field("Version") + "_" + arch + ".deb");
  EXPECT_FALSE(Field("Maintainer").empty());
  EXPECT_FALSE(Field("Description").empty());
}

TEST_F(PackageTest, InstallsBinariesWhereMountFindsTheHelper) {
  struct stat st {};
  ASSERT_EQ(::stat(Installed("usr/bin/re2po").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  ASSERT_EQ(::stat(Installed("usr/sbin/mount.re2po").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  // mount -t fuse.re2po runs /sbin/mount.fuse.re2po; Debian 12 has /sbin -> usr/sbin.
  const stdfs::path link = Installed("usr/sbin/mount.fuse.re2po");
  ASSERT_TRUE(stdfs::is_symlink(link));
  EXPECT_EQ(stdfs::read_symlink(link), "mount.re2po");
}

TEST_F(PackageTest, InstalledBinariesRunAgainstTheSystemLibraries) {
  CommandResult version = RunInstalled("usr/bin/re2po", "--version");
  ASSERT_EQ(version.exit_code, 0) << version.err;
  EXPECT_EQ(Trim(version.out), "re2po " + Field("Version"));
  for (const char* helper : {"usr/sbin/mount.re2po", "usr/sbin/mount.fuse.re2po"}) {
    CommandResult help = RunInstalled(helper, "--help");
    EXPECT_EQ(help.exit_code, 0) << helper << ": " << help.err;
    EXPECT_NE(help.out.find("usage: mount.re2po STORE|REMOTE MOUNTPOINT"), std::string::npos)
        << helper;
  }
  CommandResult missing = RunInstalled("usr/sbin/mount.re2po", "");
  EXPECT_EQ(missing.exit_code, 1);
}

TEST_F(PackageTest, InstalledCliImportsAndReadsBack) {
  TempDir work;
  const std::vector<uint8_t> bytes = RandomBytes(300 * 1024, 7);
  WriteFileBytes(work.path() / "weights.bin", bytes);
  const std::string re2po =
      "env -u LD_LIBRARY_PATH RE2PO_STORE=" + ShellQuote((work.path() / "store").string()) + " " +
      ShellQuote(Installed("usr/bin/re2po").string());
  ASSERT_EQ(RunCommand(re2po + " init").exit_code, 0);
  CommandResult imported =
      RunCommand(re2po + " import demo " + ShellQuote((work.path() / "weights.bin").string()));
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  CommandResult cat = RunCommand(re2po + " cat demo@1 weights.bin");
  ASSERT_EQ(cat.exit_code, 0) << cat.err;
  EXPECT_TRUE(cat.out == std::string(bytes.begin(), bytes.end()));
}

TEST_F(PackageTest, ShipsEveryManPageGzipped) {
  std::set<std::string> expected;
  for (const auto& entry : stdfs::directory_iterator(SourcePath("packaging/man"))) {
    const std::string name = entry.path().filename().string();
    const char section = name.back();
    if (section < '1' || section > '8') continue;
    expected.insert(name);
    const stdfs::path gz =
        Installed(std::string("usr/share/man/man") + section + "/" + name + ".gz");
    ASSERT_TRUE(stdfs::exists(gz)) << gz;
    CommandResult unzipped = RunCommand("gzip -dc " + ShellQuote(gz.string()));
    ASSERT_EQ(unzipped.exit_code, 0);
    EXPECT_EQ(unzipped.out, ReadText(entry.path())) << name << " is stale: rebuild the package";
    if (!FindProgram("man").empty()) {
      CommandResult shown = RunCommand("MANWIDTH=80 man -l " + ShellQuote(gz.string()));
      EXPECT_EQ(shown.exit_code, 0) << shown.err;
      EXPECT_NE(shown.out.find("NAME"), std::string::npos) << name;
    }
  }
  EXPECT_TRUE(expected.contains("re2po.1"));
}

TEST_F(PackageTest, ShipsUnitsConfigurationAndDocs) {
  for (const char* path :
       {"lib/systemd/system/re2po@.service", "lib/systemd/system/re2po-remote@.service",
        "lib/systemd/system/re2po-gc.service", "lib/systemd/system/re2po-gc.timer",
        "lib/systemd/system/re2po-verify.service", "lib/systemd/system/re2po-verify.timer",
        "etc/re2po/re2po.conf", "usr/share/doc/re2po/operations.md",
        "usr/share/doc/re2po/remote.md", "usr/share/doc/re2po/examples/models.mount"}) {
    EXPECT_TRUE(stdfs::is_regular_file(Installed(path))) << path;
  }
  // Every example of packaging/kubernetes/ and packaging/monitoring/, as it
  // is in the source tree.
  for (const auto& [folder, at_least] :
       {std::pair{"kubernetes", 4u}, std::pair{"monitoring", 3u}}) {
    size_t examples = 0;
    for (const auto& entry : stdfs::directory_iterator(SourcePath("packaging") / folder)) {
      const stdfs::path shipped =
          Installed("usr/share/doc/re2po/examples") / folder / entry.path().filename();
      ASSERT_TRUE(stdfs::is_regular_file(shipped)) << shipped;
      EXPECT_EQ(ReadText(shipped), ReadText(entry.path())) << shipped << " is stale";
      ++examples;
    }
    EXPECT_GE(examples, at_least) << folder;
  }
  EXPECT_TRUE(stdfs::is_directory(Installed("var/lib/re2po")));
  // The store itself is the admin's (re2po init): the package never ships one.
  EXPECT_FALSE(stdfs::exists(Installed("var/lib/re2po/store")));
}

TEST_F(PackageTest, ConfigurationIsAConffileAndScriptsAreSound) {
  TempDir control;
  ASSERT_EQ(RunCommand("dpkg-deb -e " + ShellQuote(deb_.string()) + " " +
                       ShellQuote(control.path().string()))
                .exit_code,
            0);
  EXPECT_EQ(Trim(ReadText(control.path() / "conffiles")), "/etc/re2po/re2po.conf");
  for (const char* script : {"postinst", "postrm"}) {
    const stdfs::path path = control.path() / script;
    ASSERT_TRUE(stdfs::exists(path)) << script;
    EXPECT_EQ(::access(path.c_str(), X_OK), 0) << script << " is not executable";
    CommandResult parsed = RunCommand("sh -n " + ShellQuote(path.string()));
    EXPECT_EQ(parsed.exit_code, 0) << script << ": " << parsed.err;
  }
}

// The Debian package owning a shared library, by its resolved path.
std::string OwningPackage(const std::string& library_path) {
  std::error_code ec;
  const std::string real = stdfs::canonical(library_path, ec).string();
  std::vector<std::string> candidates = {library_path, real, "/usr" + real};
  if (real.starts_with("/usr/")) candidates.push_back(real.substr(4));  // merged /usr aliases
  for (const std::string& candidate : candidates) {
    CommandResult owner = RunCommand("dpkg -S " + ShellQuote(candidate));
    if (owner.exit_code == 0) {
      const std::string line = Lines(owner.out).front();
      return line.substr(0, line.find_first_of(":,"));
    }
  }
  return "";
}

// The virtual packages an installed package provides.
std::vector<std::string> ProvidedNames(const std::string& package) {
  const std::string provides =
      RunCommand("dpkg-query -W -f='${Provides}' " + ShellQuote(package)).out;
  std::vector<std::string> names;
  static const std::regex kName(R"(([a-z0-9][a-z0-9.+-]*)(\s*\([^)]*\))?)");
  for (std::sregex_iterator it(provides.begin(), provides.end(), kName), end; it != end; ++it) {
    names.push_back((*it)[1]);
  }
  return names;
}

// NEEDED libraries of a binary with their resolved paths (ldd).
std::map<std::string, std::string> LinkedLibraries(const stdfs::path& binary) {
  std::set<std::string> needed;
  static const std::regex kNeeded(R"(NEEDED\s+(\S+))");
  const std::string dynamic = RunCommand("objdump -p " + ShellQuote(binary.string())).out;
  for (std::sregex_iterator it(dynamic.begin(), dynamic.end(), kNeeded), end; it != end; ++it) {
    needed.insert((*it)[1]);
  }
  std::map<std::string, std::string> resolved;
  static const std::regex kLdd(R"((\S+) => (\S+))");
  const std::string ldd =
      RunCommand("env -u LD_LIBRARY_PATH ldd " + ShellQuote(binary.string())).out;
  for (std::sregex_iterator it(ldd.begin(), ldd.end(), kLdd), end; it != end; ++it) {
    if (needed.contains((*it)[1])) resolved[(*it)[1]] = (*it)[2];
  }
  return resolved;
}

TEST_F(PackageTest, DependsCoverEveryLinkedLibraryAndFuse3) {
  if (FindProgram("objdump").empty()) GTEST_SKIP() << "objdump (binutils) is not installed";
  const std::string depends = Field("Depends");
  std::cout << "Depends: " << depends << std::endl;
  std::set<std::string> listed;
  static const std::regex kName(R"((^|,)\s*([a-z0-9][a-z0-9.+-]*))");
  for (std::sregex_iterator it(depends.begin(), depends.end(), kName), end; it != end; ++it) {
    listed.insert((*it)[2]);
  }
  EXPECT_TRUE(listed.contains("fuse3")) << depends;
  // Remotes over https:// need the CA store; libcurl4 only recommends it.
  EXPECT_NE(Field("Recommends").find("ca-certificates"), std::string::npos);
  size_t checked = 0;
  for (const char* binary : {"usr/bin/re2po", "usr/sbin/mount.re2po"}) {
    for (const auto& [soname, path] : LinkedLibraries(Installed(binary))) {
      const std::string package = OwningPackage(path);
      ASSERT_FALSE(package.empty()) << soname << " (" << path << ") belongs to no package";
      // shlibs may name a virtual package the owner provides (libspdlog1.10-fmt9).
      std::set<std::string> names = {package};
      for (const std::string& provided : ProvidedNames(package)) names.insert(provided);
      const bool depended = std::any_of(names.begin(), names.end(),
                                        [&](const std::string& n) { return listed.contains(n); });
      EXPECT_TRUE(depended) << binary << " links " << soname << " from " << package
                            << ", not in Depends: " << depends;
      ++checked;
    }
  }
  EXPECT_GT(checked, 5u);
  // Every command starts without relocating libcurl and its two dozen
  // libraries (loaded by the first remote request), and with RocksDB and
  // HDF5 linked in (docs/performance.md, "Process start").
  for (const char* binary : {"usr/bin/re2po", "usr/sbin/mount.re2po"}) {
    const auto linked = LinkedLibraries(Installed(binary));
    for (const char* soname : {"libcurl.so.4", "librocksdb.so.7.8", "libhdf5_serial.so.103"}) {
      EXPECT_FALSE(linked.contains(soname)) << binary << " links " << soname;
    }
  }
  // libcurl4 is loaded with dlopen, so no NEEDED entry names it.
  for (const char* library : {"libfuse3-3", "libzstd1", "libssl3", "libcurl4"}) {
    EXPECT_TRUE(listed.contains(library)) << library << " missing from " << depends;
  }
}

}  // namespace
}  // namespace re2po::testing
