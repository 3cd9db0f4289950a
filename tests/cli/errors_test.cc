// Bad input gets one clear line, a non-zero status and an unchanged store.
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "tests/cli/cli_fixture.h"

namespace re2po::testing {
namespace {
namespace fs = std::filesystem;

class ErrorsTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    fs::create_directories(Dir("good"));
    WriteFileText(Dir("good") / "w.bin", "weights");
    ASSERT_EQ(Re2po("import base " + Q(Dir("good"))).exit_code, 0);
    catalog_before_ = Re2po("ls --json").out;
  }
  void ExpectStoreUnchanged() { EXPECT_EQ(Re2po("ls --json").out, catalog_before_); }
  std::string catalog_before_;
};

TEST_F(ErrorsTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Re2po("").exit_code, 2);
  EXPECT_EQ(Re2po("import").exit_code, 2);
  EXPECT_EQ(Re2po("frobnicate").exit_code, 2);
  EXPECT_EQ(Re2po("ls --no-such-flag").exit_code, 2);
}

TEST_F(ErrorsTest, MissingPathIsNamed) {
  CommandResult result = Re2po("import base " + Q(Dir("absent")));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("absent"), std::string::npos) << result.err;
  ExpectStoreUnchanged();
}

TEST_F(ErrorsTest, InvalidModelNamesAreRefused) {
  for (const std::string& name : std::vector<std::string>{"../up", "a/b", ".hidden", "-dash",
                                                          "sp ace", std::string(129, 'x')}) {
    CommandResult result = Re2po("import -- " + ShellQuote(name) + " " + Q(Dir("good")));
    EXPECT_EQ(result.exit_code, 1) << name;
    EXPECT_NE(result.err.find("invalid model name"), std::string::npos) << result.err;
  }
  ExpectStoreUnchanged();
}

TEST_F(ErrorsTest, ExistingVersionIsRefused) {
  CommandResult result = Re2po("import base@1 " + Q(Dir("good")));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("already exists"), std::string::npos) << result.err;
  ExpectStoreUnchanged();
}

TEST_F(ErrorsTest, LeadingZeroVersionIsRefused) {
  CommandResult result = Re2po("import base@007 " + Q(Dir("good")));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("leading zeros"), std::string::npos) << result.err;
}

TEST_F(ErrorsTest, MissingStoreIsNamed) {
  CommandResult result =
      RunCommand(ShellQuote(BuiltTool("re2po")) + " --store " + Q(Dir("nowhere")) + " ls");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("re2po init"), std::string::npos) << result.err;
  EXPECT_FALSE(fs::exists(Dir("nowhere")));
}

TEST_F(ErrorsTest, StoreFromEnvironmentIsUsed) {
  CommandResult result = RunCommand("RE2PO_STORE=" + ShellQuote(store_) + " " +
                                    ShellQuote(BuiltTool("re2po")) + " ls");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("base"), std::string::npos);
}

TEST_F(ErrorsTest, EscapingSymlinksAreRefusedAndNamed) {
  fs::create_directories(Dir("evil"));
  WriteFileText(Dir("evil") / "ok.bin", "x");
  fs::create_symlink("/etc/passwd", Dir("evil") / "abs");
  CommandResult absolute = Re2po("import evil " + Q(Dir("evil")));
  EXPECT_EQ(absolute.exit_code, 1);
  EXPECT_NE(absolute.err.find("'abs'"), std::string::npos) << absolute.err;
  fs::remove(Dir("evil") / "abs");
  fs::create_symlink("../../outside", Dir("evil") / "up");
  CommandResult escaping = Re2po("import evil " + Q(Dir("evil")));
  EXPECT_EQ(escaping.exit_code, 1);
  EXPECT_NE(escaping.err.find("outside the imported tree"), std::string::npos) << escaping.err;
  ExpectStoreUnchanged();
}

TEST_F(ErrorsTest, HostileFileNamesAreRefused) {
  fs::create_directories(Dir("names"));
  WriteFileText(Dir("names") / "bad\x01name", "x");
  CommandResult result = Re2po("import names " + Q(Dir("names")));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("control character"), std::string::npos) << result.err;
  ExpectStoreUnchanged();
}

TEST_F(ErrorsTest, FifosAreSkippedWithAWarning) {
  fs::create_directories(Dir("special"));
  WriteFileText(Dir("special") / "w.bin", "weights");
  ASSERT_EQ(mkfifo((Dir("special") / "pipe").c_str(), 0644), 0);
  CommandResult result = Re2po("import special " + Q(Dir("special")));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("warning: skipped 'pipe'"), std::string::npos) << result.err;
  ASSERT_EQ(Re2po("export special@1 " + Q(Dir("out"))).exit_code, 0);
  EXPECT_TRUE(fs::exists(Dir("out") / "w.bin"));
  EXPECT_FALSE(fs::exists(Dir("out") / "pipe"));
}

TEST_F(ErrorsTest, CorruptStoreIsRefusedWithoutWriting) {
  fs::remove(fs::path(store_) / "db" / "CURRENT");
  CommandResult result = Re2po("ls");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("not a usable store"), std::string::npos) << result.err;
  EXPECT_FALSE(fs::exists(fs::path(store_) / "db" / "CURRENT"));
}

TEST_F(ErrorsTest, SecondWriterWaitsWithAMessageThenSucceeds) {
  fs::create_directories(Dir("big"));
  WriteFileBytes(Dir("big") / "a.bin", RandomBytes(static_cast<size_t>(64 * Scale()) << 20, 5));
  CommandResult first, second;
  std::thread a([&] { first = Re2po("import race@10 " + Q(Dir("big"))); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::thread b([&] { second = Re2po("import race@11 " + Q(Dir("big"))); });
  a.join();
  b.join();
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(second.exit_code, 0) << second.err;
  auto versions = Json("ls race");
  EXPECT_EQ(versions.size(), 2u);
}

TEST_F(ErrorsTest, WriterTimesOutWhileLocked) {
  // Hold the writer lock from a shell with flock(1), as a stuck import would.
  std::string lock = (fs::path(store_) / "writer.lock").string();
  std::thread holder([&] { RunCommand("flock " + Q(lock) + " sleep 3"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CommandResult result = Re2po("--lock-timeout 1 import locked " + Q(Dir("good")));
  holder.join();
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("waiting for another writer"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("locked by another writer"), std::string::npos) << result.err;
  ExpectStoreUnchanged();
}

}  // namespace
}  // namespace re2po::testing
