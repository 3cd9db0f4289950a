#include "store/db/writer_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

namespace re2po {
namespace {

std::string Holder(int fd) {
  char buffer[128] = {};
  ssize_t n = pread(fd, buffer, sizeof buffer - 1, 0);
  std::string text = n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "another process";
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
  return text;
}

void RecordHolder(int fd) {
  std::string text = "pid " + std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) == 0) {
    [[maybe_unused]] ssize_t ignored = pwrite(fd, text.data(), text.size(), 0);
  }
}

}  // namespace

Result<std::unique_ptr<WriterLock>> WriterLock::Acquire(
    const std::filesystem::path& store_dir, std::chrono::seconds timeout,
    const std::function<void(const std::string&)>& on_wait, std::string_view held) {
  std::string path = (store_dir / "writer.lock").string();
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, "opening " + path);
  std::unique_ptr<WriterLock> lock(new WriterLock(fd));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool told = false;
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) return Status::FromErrno(errno, "locking " + path);
    if (!told && on_wait) {
      on_wait("waiting for another writer of this store (" + Holder(fd) + ") to finish...");
      told = true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      const std::string waited =
          timeout.count() > 0 ? " for over " + std::to_string(timeout.count()) + " s" : "";
      return Status::Busy(std::string(held) + " (" + Holder(fd) + ")" + waited +
                          "; try again later");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  RecordHolder(fd);
  return lock;
}

WriterLock::~WriterLock() {
  flock(fd_, LOCK_UN);
  close(fd_);
}

}  // namespace re2po
