// What the remote tests share: the Ceph that the ctest fixture started
// (tests/engines/ceph_fixture.sh), buckets of their own, and TCP peers that
// misbehave on purpose (accept and close, or accept and say nothing).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "store/remote/aws_credentials.h"
#include "store/remote/s3_store.h"
#include "store/remote/s3_transport.h"
#include "store/remote/s3_url.h"
#include "tests/testutil/status_testutil.h"

namespace re2po::testing {

struct CephEnv {
  std::filesystem::path dir;
  AwsSettings settings;
};

inline std::map<std::string, std::string> ReadEnvFile(const std::filesystem::path& path) {
  std::map<std::string, std::string> values;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto equals = line.find('=');
    if (equals != std::string::npos) values[line.substr(0, equals)] = line.substr(equals + 1);
  }
  return values;
}

// The running Ceph, or why there is none (the caller skips with it).
inline std::optional<CephEnv> FindCeph(std::string& why_not) {
  const char* dir = std::getenv("RE2PO_TEST_CEPH_DIR");
  if (dir == nullptr || *dir == '\0') {
    why_not = "RE2PO_TEST_CEPH_DIR is unset: run through ctest, whose fixture starts Ceph";
    return std::nullopt;
  }
  const std::filesystem::path root(dir);
  if (std::filesystem::exists(root / "unavailable")) {
    std::ifstream in(root / "unavailable");
    std::ostringstream reason;
    reason << in.rdbuf();
    why_not = "Ceph is unavailable: " + reason.str();
    return std::nullopt;
  }
  const auto values = ReadEnvFile(root / "s3.env");
  for (const char* key : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"}) {
    if (!values.contains(key)) {
      why_not = (root / "s3.env").string() + " lacks " + key;
      return std::nullopt;
    }
  }
  CephEnv env;
  env.dir = root;
  env.settings.credentials = {values.at("AWS_ACCESS_KEY_ID"), values.at("AWS_SECRET_ACCESS_KEY"),
                              ""};
  env.settings.region = values.contains("AWS_REGION") ? values.at("AWS_REGION") : "us-east-1";
  env.settings.endpoint = values.at("AWS_ENDPOINT_URL");
  env.settings.credential_source = "test";
  return env;
}

// A bucket name no other test (or earlier run) uses: "r2t-<tag>-<random>".
inline std::string UniqueBucket(const std::string& tag) {
  static std::atomic<uint32_t> counter{0};
  std::random_device random;
  std::ostringstream name;
  name << "r2t-" << tag.substr(0, 30) << "-" << std::hex << getpid() << "-" << random() << "-"
       << counter++;
  std::string text = name.str();
  for (char& c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') c = '-';
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return text.substr(0, 63);
}

inline std::string RandomText(size_t size, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  return bytes;
}

// A store in a fresh bucket of the fixture's Ceph. The bucket, objects and
// all, is removed on destruction: radosgw allows 1000 buckets per user, and
// a kept cluster serves run after run.
class CephBucket {
 public:
  CephBucket(const CephEnv& env, const std::string& tag, S3Options options = {})
      : settings_(env.settings) {
    options.bucket = options.bucket.empty() ? UniqueBucket(tag) : options.bucket;
    options.call_deadline = std::chrono::milliseconds(60'000);
    options_ = options;
    auto opened = OpenS3Store(options, settings_);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (opened.ok()) store_ = std::move(opened).value();
  }
  ~CephBucket() {
    if (store_ != nullptr) RemoveBucket();
  }
  CephBucket(const CephBucket&) = delete;
  CephBucket& operator=(const CephBucket&) = delete;

  S3Store& store() { return *store_; }
  const S3Options& options() const { return options_; }

  // Another store on the same bucket (another prefix, other credentials...).
  std::unique_ptr<S3Store> Another(S3Options options, const AwsSettings& settings) const {
    options.bucket = options_.bucket;
    auto opened = OpenS3Store(options, settings);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    return opened.ok() ? std::move(opened).value() : nullptr;
  }

 private:
  // Every object under every prefix, then the bucket (S3 deletes only empty
  // ones). A bucket never created answers 404, which is fine here.
  void RemoveBucket() {
    S3Options whole = options_;
    whole.prefix.clear();
    auto everything = OpenS3Store(whole, settings_);
    if (!everything.ok()) return;
    if (auto objects = (*everything)->List(""); objects.ok()) {
      for (const auto& object : *objects) (void)(*everything)->Delete(object.key);
    }
    auto endpoint = ParseS3Endpoint(settings_.endpoint);
    if (!endpoint.ok()) return;
    ObjectStoreCounters counters;
    S3Transport transport(
        {*endpoint, options_.bucket, true, settings_.credentials, settings_.region},
        HttpClientOptions{}, RetryPolicy{}, counters);
    S3Request remove;
    remove.method = "DELETE";
    auto answer = transport.Send(remove, "removing test bucket " + options_.bucket);
    EXPECT_TRUE(answer.ok() && (answer->status == 204 || answer->status == 404))
        << "could not remove bucket " << options_.bucket << ": "
        << (answer.ok() ? std::to_string(answer->status) + " " + answer->body
                        : answer.status().ToString());
  }

  AwsSettings settings_;
  S3Options options_;
  std::unique_ptr<S3Store> store_;
};

// A listening socket on 127.0.0.1 that misbehaves: kCloseAtOnce accepts and
// closes every connection, kSilent accepts and never answers.
class MisbehavingPeer {
 public:
  enum class Mode { kCloseAtOnce, kSilent };

  explicit MisbehavingPeer(Mode mode) : mode_(mode) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::listen(fd_, 64) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
      return;
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~MisbehavingPeer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (int fd : held_) ::close(fd);
    ::close(fd_);
  }
  MisbehavingPeer(const MisbehavingPeer&) = delete;
  MisbehavingPeer& operator=(const MisbehavingPeer&) = delete;

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int accepted() const { return accepted_; }

 private:
  void Serve() {
    while (!stop_) {
      pollfd waiting{fd_, POLLIN, 0};
      if (::poll(&waiting, 1, 20) <= 0) continue;
      const int connection = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (connection < 0) continue;
      ++accepted_;
      if (mode_ == Mode::kCloseAtOnce) {
        ::close(connection);
      } else {
        held_.push_back(connection);
      }
    }
  }

  const Mode mode_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::vector<int> held_;  // the silent peer's connections, closed at the end
  std::thread thread_;
};

// A port on 127.0.0.1 that nothing listens on (it was free a moment ago).
inline std::string ClosedEndpoint() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
}

}  // namespace re2po::testing
