// packaging/monitoring/ against the metrics the mount serves: every metric
// the Grafana dashboard and the alert rules query is one that
// fs/core/metrics_text.cc writes and docs/operations.md explains, and
// promtool accepts the scrape configuration and the rules.
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "tests/packaging/packaging_fixture.h"

namespace re2po::testing {
namespace {

// The re2po_* names in `text`, histogram series folded into their family.
std::set<std::string> MetricNames(const std::string& text) {
  std::set<std::string> names;
  const std::regex name(R"(re2po_[a-z_]+)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), name); it != std::sregex_iterator();
       ++it) {
    std::string found = it->str();
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (found.ends_with(suffix) && found.find("_seconds") != std::string::npos) {
        found.resize(found.size() - std::string(suffix).size());
      }
    }
    names.insert(found);
  }
  return names;
}

class MonitoringTest : public ::testing::Test {
 protected:
  // Every family the exposition writes (its quoted names).
  std::set<std::string> Served() {
    std::set<std::string> served;
    for (const std::string& name : MetricNames(ReadText(SourcePath("fs/core/metrics_text.cc")))) {
      served.insert(name);
    }
    return served;
  }
  void ExpectAllServedAndDocumented(const std::string& what, const std::string& text) {
    const std::set<std::string> used = MetricNames(text);
    ASSERT_FALSE(used.empty()) << what;
    const std::set<std::string> served = Served();
    const std::string doc = ReadText(SourcePath("docs/operations.md"));
    for (const std::string& name : used) {
      EXPECT_TRUE(served.contains(name)) << what << " queries " << name << ", which is not served";
      EXPECT_NE(doc.find("`" + name), std::string::npos) << name << " is not in docs/operations.md";
    }
  }
};

TEST_F(MonitoringTest, DashboardQueriesServedMetrics) {
  const std::string text = ReadText(SourcePath("packaging/monitoring/grafana-dashboard.json"));
  const nlohmann::json dashboard = nlohmann::json::parse(text, nullptr, false);
  ASSERT_TRUE(dashboard.is_object()) << "not JSON";
  ASSERT_TRUE(dashboard["panels"].is_array());
  EXPECT_GE(dashboard["panels"].size(), 10u);
  std::string expressions;
  for (const auto& panel : dashboard["panels"]) {
    for (const auto& target : panel["targets"])
      expressions += target["expr"].get<std::string>() + "\n";
  }
  ExpectAllServedAndDocumented("the dashboard", expressions);
}

TEST_F(MonitoringTest, AlertRulesQueryServedMetrics) {
  ExpectAllServedAndDocumented("the alert rules",
                               ReadText(SourcePath("packaging/monitoring/re2po-alerts.yml")));
}

TEST_F(MonitoringTest, PromtoolAcceptsTheConfigAndRules) {
  if (FindProgram("promtool").empty()) {
    GTEST_SKIP() << "promtool is not installed (apt-get install prometheus): not checked";
  }
  const CommandResult config =
      RunCommand("promtool check config " +
                 ShellQuote(SourcePath("packaging/monitoring/prometheus.yml").string()) + " 2>&1");
  EXPECT_EQ(config.exit_code, 0) << config.out;
  const CommandResult rules = RunCommand(
      "promtool check rules " +
      ShellQuote(SourcePath("packaging/monitoring/re2po-alerts.yml").string()) + " 2>&1");
  EXPECT_EQ(rules.exit_code, 0) << rules.out;
}

}  // namespace
}  // namespace re2po::testing
