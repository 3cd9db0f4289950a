// Runs the built `re2po` against a store in a temporary directory.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "tests/testutil/testutil.h"

namespace re2po::testing {

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = (temp_.path() / "store").string();
    CommandResult init = Re2po("init");
    ASSERT_EQ(init.exit_code, 0) << init.err;
  }

  CommandResult Re2po(const std::string& args) {
    return RunCommand(ShellQuote(BuiltTool("re2po")) + " --store " + ShellQuote(store_) + " " +
                      args);
  }
  nlohmann::json Json(const std::string& args) {
    CommandResult result = Re2po(args + " --json");
    EXPECT_EQ(result.exit_code, 0) << args << ": " << result.err;
    return nlohmann::json::parse(result.out, nullptr, false);
  }
  std::filesystem::path Dir(const std::string& name) { return temp_.path() / name; }
  std::string Q(const std::filesystem::path& path) { return ShellQuote(path.string()); }

  // 1 in normal runs, smaller under the sanitizers (RE2PO_TEST_SCALE=small).
  static double Scale() {
    const char* scale = std::getenv("RE2PO_TEST_SCALE");
    return scale && std::string(scale) == "small" ? 0.1 : 1.0;
  }

  TempDir temp_;
  std::string store_;
};

}  // namespace re2po::testing
