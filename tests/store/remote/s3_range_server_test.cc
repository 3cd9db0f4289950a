// A real server that ignores Range: Python's http.server answers every GET
// with 200 and the whole file. GetRange must still hand back exactly the
// range, without reading the rest of a large object.
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <thread>

#include "store/remote/s3_store.h"
#include "tests/store/remote/remote_test_env.h"

namespace re2po {
namespace {

using testing::TempDir;

// /usr/bin/python3 -m http.server on a free port, serving `root`.
class StaticFileServer {
 public:
  explicit StaticFileServer(const std::filesystem::path& root) : log_(root.parent_path() / "log") {
    pid_ = testing::SpawnWithLog({"/usr/bin/python3", "-u", "-m", "http.server", "0", "--bind",
                                  "127.0.0.1", "--directory", root.string()},
                                 log_);
    // It prints "Serving HTTP on 127.0.0.1 port N" once it listens.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (port_.empty() && std::chrono::steady_clock::now() < deadline) {
      std::ifstream in(log_);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      const auto at = text.find(" port ");
      if (at != std::string::npos && text.find(' ', at + 6) != std::string::npos) {
        port_ = text.substr(at + 6, text.find(' ', at + 6) - at - 6);
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }
  ~StaticFileServer() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  std::string endpoint() const { return port_.empty() ? "" : "http://127.0.0.1:" + port_; }

 private:
  std::filesystem::path log_;
  pid_t pid_ = -1;
  std::string port_;
};

class RangeIgnoringServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";
    std::filesystem::create_directories(root() / "bkt" / "p");
    object_ = testing::RandomText(8 << 20, 3);
    std::ofstream(root() / "bkt" / "p" / "big", std::ios::binary) << object_;
    server_ = std::make_unique<StaticFileServer>(root());
    ASSERT_FALSE(server_->endpoint().empty()) << "http.server did not start";
    S3Options options;
    options.bucket = "bkt";
    options.prefix = "p";
    options.endpoint = server_->endpoint();
    options.call_deadline = std::chrono::milliseconds(20'000);
    auto store = OpenS3Store(options, AwsSettings{});  // anonymous, like a public bucket
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }
  std::filesystem::path root() const { return dir_.path() / "www"; }

  TempDir dir_;
  std::string object_;
  std::unique_ptr<StaticFileServer> server_;
  std::unique_ptr<S3Store> store_;
};

TEST_F(RangeIgnoringServerTest, WholeObjectAnswersAreSlicedWithoutReadingThemWhole) {
  for (const auto& [offset, length] :
       std::vector<std::pair<uint64_t, uint64_t>>{{0, 10}, {1'000, 4'096}, {100'000, 65'536}}) {
    const uint64_t received = store_->counters().bytes_received.load();
    ASSERT_OK_AND_ASSIGN(std::string bytes, store_->GetRange("big", offset, length));
    EXPECT_EQ(bytes, object_.substr(offset, length));
    // Reading stopped at the range's end, not at the object's (8 MiB).
    EXPECT_LE(store_->counters().bytes_received.load() - received, offset + length);
  }
}

TEST_F(RangeIgnoringServerTest, RangePastTheEndOfAWholeAnswerIsInvalidArgument) {
  Result<std::string> bytes = store_->GetRange("big", (8 << 20) - 5, 10);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().code(), StatusCode::kInvalidArgument) << bytes.status().ToString();
}

TEST_F(RangeIgnoringServerTest, PlainGetAndHeadWork) {
  ASSERT_OK_AND_ASSIGN(std::optional<uint64_t> size, store_->Size("big"));
  ASSERT_TRUE(size.has_value());
  EXPECT_EQ(*size, object_.size());
  ASSERT_OK_AND_ASSIGN(std::string whole, store_->Get("big"));
  EXPECT_EQ(whole, object_);
  EXPECT_EQ(store_->Get("absent").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace re2po
