// What a re2po process loads: local commands start without libcurl (and
// the two dozen libraries it brings), which the remote client loads with
// dlopen at its first request; RocksDB and HDF5 are linked in. The dynamic
// loader's own trace (LD_DEBUG=libs) says what was loaded.
#include "tests/cli/cli_fixture.h"

namespace re2po::testing {
namespace {

class ProcessStartTest : public CliTest {
 protected:
  // The loader's trace of `re2po --store STORE ARGS`, which goes to stderr.
  std::string LoaderTrace(const std::string& args) {
    const CommandResult result =
        RunCommand("LD_DEBUG=libs " + ShellQuote(BuiltTool("re2po")) + " --store " +
                   ShellQuote(store_) + " " + args + " 2>&1");
    return result.out;
  }
  static bool Loaded(const std::string& trace, const std::string& library) {
    return trace.find("calling init: ") != std::string::npos &&
           trace.find("/" + library) != std::string::npos;
  }
};

TEST_F(ProcessStartTest, LocalCommandsDoNotLoadLibcurl) {
  WriteFileText(Dir("model") / "w.bin", "weights");
  for (const std::string& args : {"import m " + Q(Dir("model")), std::string("ls m"),
                                  std::string("cat m@1 w.bin"), std::string("verify")}) {
    const std::string trace = LoaderTrace(args);
    ASSERT_NE(trace.find("calling init: "), std::string::npos)
        << "no loader trace from LD_DEBUG for " << args << ":\n"
        << trace;
    EXPECT_TRUE(Loaded(trace, "libc.so.6")) << args;  // the trace names what it loads
    EXPECT_FALSE(Loaded(trace, "libcurl.so.4")) << args;
  }
}

TEST_F(ProcessStartTest, ARemoteRequestLoadsLibcurl) {
  WriteFileText(Dir("model") / "w.bin", "weights");
  ASSERT_EQ(Re2po("import m " + Q(Dir("model"))).exit_code, 0);
  // Nothing listens on port 1: the push fails, after libcurl was loaded to try.
  const std::string trace = LoaderTrace("push oci://127.0.0.1:1/repo");
  EXPECT_TRUE(Loaded(trace, "libcurl.so.4")) << trace;
  EXPECT_NE(trace.find("127.0.0.1"), std::string::npos) << trace;
}

}  // namespace
}  // namespace re2po::testing
