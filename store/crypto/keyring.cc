#include "store/crypto/keyring.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "store/base/digest.h"

namespace re2po {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic = "re2po-keyring 1";
constexpr std::string_view kWarning =
    "# re2po keyring. Secret: whoever reads this file reads the models it protects.\n";

Result<std::string> SecretFromHex(std::string_view hex) {
  ASSIGN_OR_RETURN(Digest raw, Digest::FromHex(hex));  // 32 bytes, as a secret is
  return std::string(raw.view());
}

Status CheckPrivate(const fs::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return Status::FromErrno(errno, "keyring " + path.string());
  if ((info.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
    return Status::PermissionDenied("keyring " + path.string() + " has mode " + mode +
                                    ": group or others may read it (chmod 600 it)");
  }
  return Status::Ok();
}

Status ParseLine(const std::string& line, size_t number, Keyring& ring) {
  std::istringstream words(line);
  std::string tag, name, secret_hex;
  int64_t created_ns = 0;
  if (!(words >> tag >> name >> secret_hex >> created_ns) || tag != "key") {
    return Status::Corruption("keyring line " + std::to_string(number) + " is not a key");
  }
  RETURN_IF_ERROR(ValidateKeyName(name));
  Result<std::string> secret = SecretFromHex(secret_hex);
  if (!secret.ok()) {
    return Status::Corruption("keyring line " + std::to_string(number) + ": bad secret");
  }
  ASSIGN_OR_RETURN(SealingKey key, SealingKey::FromSecret(name, *secret, created_ns));
  return ring.Add(std::move(key));
}

}  // namespace

Status ValidateKeyName(std::string_view name) {
  auto ok_char = [](char c, bool first) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           (!first && (c == '.' || c == '_' || c == '-'));
  };
  bool valid = !name.empty() && name.size() <= 64;
  for (size_t i = 0; valid && i < name.size(); ++i) valid = ok_char(name[i], i == 0);
  if (!valid) {
    return Status::InvalidArgument("bad key name '" + std::string(name) +
                                   "': use [A-Za-z0-9][A-Za-z0-9._-]*, at most 64 bytes");
  }
  return Status::Ok();
}

Status Keyring::Create(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Status::AlreadyExists("keyring " + path.string() + " exists");
    return Status::FromErrno(errno, "creating keyring " + path.string());
  }
  ::close(fd);
  return Keyring().Save(path);
}

Result<Keyring> Keyring::Load(const fs::path& path) {
  RETURN_IF_ERROR(CheckPrivate(path));
  std::ifstream in(path);
  if (!in) return Status::FromErrno(errno, "reading keyring " + path.string());
  Keyring ring;
  std::string line;
  size_t number = 0;
  bool magic_seen = false;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    if (!magic_seen) {
      if (line != kMagic) return Status::Corruption(path.string() + " is not a re2po keyring");
      magic_seen = true;
      continue;
    }
    Status parsed = ParseLine(line, number, ring);
    if (!parsed.ok()) return parsed.WithContext("keyring " + path.string());
  }
  if (!magic_seen) return Status::Corruption(path.string() + " is not a re2po keyring");
  return ring;
}

Status Keyring::Save(const fs::path& path) const {
  std::string text(kWarning);
  text += kMagic;
  text += '\n';
  for (const SealingKey& key : keys_) {
    text += "key " + key.name() + " " + HexOf(key.secret()) + " " +
            std::to_string(key.created_ns()) + "\n";
  }
  fs::path temporary = path;
  temporary += ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "writing keyring " + temporary.string());
  const bool written = ::fchmod(fd, 0600) == 0 &&
                       ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  const int error = errno;
  ::close(fd);
  std::fill(text.begin(), text.end(), '\0');
  if (!written || ::rename(temporary.c_str(), path.c_str()) != 0) {
    const int failure = written ? errno : error;
    ::unlink(temporary.c_str());
    return Status::FromErrno(failure, "writing keyring " + path.string());
  }
  return Status::Ok();
}

Status Keyring::Add(SealingKey key) {
  for (const SealingKey& held : keys_) {
    if (held.name() == key.name()) {
      return Status::AlreadyExists("the keyring already has a key named " + key.name());
    }
    if (held.id() == key.id()) {
      return Status::AlreadyExists("the keyring already has this key, as " + held.name());
    }
  }
  keys_.push_back(std::move(key));
  return Status::Ok();
}

Result<const SealingKey*> Keyring::Find(std::string_view name) const {
  std::string names;
  for (const SealingKey& key : keys_) {
    if (key.name() == name) return &key;
    names += names.empty() ? key.name() : ", " + key.name();
  }
  return Status::NotFound("no key named " + std::string(name) + " in the keyring (it has " +
                          (names.empty() ? std::string("none") : names) + ")");
}

const SealingKey* Keyring::FindById(std::string_view id) const {
  for (const SealingKey& key : keys_) {
    if (key.id() == id) return &key;
  }
  return nullptr;
}

}  // namespace re2po
