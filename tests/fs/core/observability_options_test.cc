// -o access_log= and -o metrics=: on by default and off respectively,
// paths made absolute, addresses checked when the options are parsed.
#include <unistd.h>

#include "fs/core/mount_options.h"
#include "tests/testutil/testutil.h"

namespace re2po::fs {
namespace {

TEST(ObservabilityOptionsTest, AccessLogIsOnAndMetricsOffByDefault) {
  auto options = ParseMountOptions("ro", {});
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_TRUE(options->access_log);
  EXPECT_TRUE(options->access_log_path.empty());  // <store>/access/access.jsonl
  EXPECT_FALSE(options->metrics.has_value());
}

TEST(ObservabilityOptionsTest, AccessLogTakesAPathOrOff) {
  auto options = ParseMountOptions("access_log=/var/log/re2po/opens.jsonl", {});
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_TRUE(options->access_log);
  EXPECT_EQ(options->access_log_path, "/var/log/re2po/opens.jsonl");
  auto relative = ParseMountOptions("access_log=logs/a.jsonl", {});
  ASSERT_TRUE(relative.ok());
  EXPECT_EQ(relative->access_log_path, std::filesystem::current_path() / "logs/a.jsonl");
  auto off = ParseMountOptions("access_log=off", {});
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->access_log);
  EXPECT_FALSE(ParseMountOptions("access_log=", {}).ok());
}

TEST(ObservabilityOptionsTest, MetricsTakesHostPortOrASocket) {
  auto tcp = ParseMountOptions("metrics=127.0.0.1:9317", {});
  ASSERT_TRUE(tcp.ok()) << tcp.status().ToString();
  ASSERT_TRUE(tcp->metrics.has_value());
  EXPECT_EQ(tcp->metrics->host, "127.0.0.1");
  EXPECT_EQ(tcp->metrics->port, 9317);
  EXPECT_FALSE(tcp->metrics->is_unix());
  EXPECT_EQ(tcp->metrics->ToString(), "127.0.0.1:9317");

  auto v6 = ParseMountOptions("metrics=[::1]:0", {});
  ASSERT_TRUE(v6.ok()) << v6.status().ToString();
  EXPECT_EQ(v6->metrics->host, "::1");
  EXPECT_EQ(v6->metrics->port, 0);
  EXPECT_EQ(v6->metrics->ToString(), "[::1]:0");

  auto unix_socket = ParseMountOptions("metrics=/run/re2po/metrics.sock", {});
  ASSERT_TRUE(unix_socket.ok());
  EXPECT_TRUE(unix_socket->metrics->is_unix());
  EXPECT_EQ(unix_socket->metrics->socket_path, "/run/re2po/metrics.sock");
  EXPECT_EQ(ParseMountOptions("metrics=unix:./m.sock", {})->metrics->socket_path,
            std::filesystem::current_path() / "m.sock");

  auto off = ParseMountOptions("metrics=127.0.0.1:9317,metrics=off", {});
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->metrics.has_value());
  for (const char* bad : {"metrics=9317", "metrics=:9317", "metrics=host:", "metrics=h:70000",
                          "metrics=h:-1", "metrics=h:12x", "metrics="}) {
    EXPECT_FALSE(ParseMountOptions(bad, {}).ok()) << bad;
  }
}

}  // namespace
}  // namespace re2po::fs
