#include "store/crypto/ed25519.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "store/base/digest.h"

namespace re2po {
namespace crypto_detail {
void PkeyDeleter::operator()(void* key) const { EVP_PKEY_free(static_cast<EVP_PKEY*>(key)); }
}  // namespace crypto_detail

namespace {

using crypto_detail::Pkey;
namespace fs = std::filesystem;

EVP_PKEY* Raw(const Pkey& key) { return static_cast<EVP_PKEY*>(key.get()); }

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

Result<std::string> ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::FromErrno(errno, "reading key " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<std::string> RawPublic(const Pkey& key) {
  std::string raw(kEd25519PublicKeySize, '\0');
  size_t length = raw.size();
  if (EVP_PKEY_get_raw_public_key(Raw(key), reinterpret_cast<unsigned char*>(raw.data()),
                                  &length) != 1 ||
      length != kEd25519PublicKeySize) {
    return Status::InvalidArgument("not an ed25519 key: " + OpenSslError());
  }
  return raw;
}

bool IsEd25519(const Pkey& key) { return EVP_PKEY_is_a(Raw(key), "ED25519") == 1; }

Status WriteFile(const fs::path& path, std::string_view text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) return Status::AlreadyExists(path.string() + " already exists");
    return Status::FromErrno(errno, "creating " + path.string());
  }
  const ssize_t written = ::write(fd, text.data(), text.size());
  const int closed = ::close(fd);
  if (written != static_cast<ssize_t>(text.size()) || closed != 0) {
    return Status::FromErrno(errno, "writing " + path.string());
  }
  return Status::Ok();
}

Result<std::string> PemOf(const Pkey& key, bool private_part) {
  Bio bio(BIO_new(BIO_s_mem()));
  const int written = private_part ? PEM_write_bio_PrivateKey(bio.get(), Raw(key), nullptr, nullptr,
                                                              0, nullptr, nullptr)
                                   : PEM_write_bio_PUBKEY(bio.get(), Raw(key));
  if (written != 1) return Status::IOError("encoding a key: " + OpenSslError());
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

}  // namespace

Result<PublicKey> PublicKey::Load(const fs::path& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadText(path));
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key || !IsEd25519(key)) {
    return Status::InvalidArgument(path.string() + " is not an ed25519 public key (PEM)");
  }
  ASSIGN_OR_RETURN(std::string raw, RawPublic(key));
  return PublicKey(std::move(key), std::move(raw));
}

Result<PublicKey> PublicKey::FromRaw(std::string_view raw) {
  if (raw.size() != kEd25519PublicKeySize) {
    return Status::InvalidArgument("an ed25519 public key has 32 bytes, not " +
                                   std::to_string(raw.size()));
  }
  Pkey key(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw.data()), raw.size()));
  if (!key) return Status::InvalidArgument("not an ed25519 public key: " + OpenSslError());
  return PublicKey(std::move(key), std::string(raw));
}

bool PublicKey::Verify(std::string_view message, std::string_view signature) const {
  if (signature.size() != kEd25519SignatureSize) return false;
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, Raw(key_)) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

std::string PublicKey::Id() const { return Sha256Of(raw_).Hex().substr(0, 16); }

std::string PublicKey::Pem() const {
  Result<std::string> pem = PemOf(key_, /*private_part=*/false);
  return pem.ok() ? *pem : std::string();
}

Result<SigningKey> SigningKey::Generate() {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return Status::IOError("generating an ed25519 key: " + OpenSslError());
  ASSIGN_OR_RETURN(std::string raw, RawPublic(key));
  ASSIGN_OR_RETURN(PublicKey public_key, PublicKey::FromRaw(raw));
  return SigningKey(std::move(key), std::move(public_key));
}

Result<SigningKey> SigningKey::Load(const fs::path& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadText(path));
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key || !IsEd25519(key)) {
    return Status::InvalidArgument(path.string() + " is not an ed25519 private key (PEM)");
  }
  ASSIGN_OR_RETURN(std::string raw, RawPublic(key));
  ASSIGN_OR_RETURN(PublicKey public_key, PublicKey::FromRaw(raw));
  return SigningKey(std::move(key), std::move(public_key));
}

Status SigningKey::Save(const fs::path& path) const {
  ASSIGN_OR_RETURN(std::string private_pem, PemOf(key_, /*private_part=*/true));
  ASSIGN_OR_RETURN(std::string public_pem, PemOf(key_, /*private_part=*/false));
  fs::path public_path = path;
  public_path += ".pub";
  RETURN_IF_ERROR(WriteFile(path, private_pem, 0600));
  Status written = WriteFile(public_path, public_pem, 0644);
  if (!written.ok()) {
    std::error_code ignored;
    fs::remove(path, ignored);  // no half pair left behind
  }
  return written;
}

Result<std::string> SigningKey::Sign(std::string_view message) const {
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, Raw(key_)) != 1) {
    return Status::IOError("signing: " + OpenSslError());
  }
  std::string signature(kEd25519SignatureSize, '\0');
  size_t length = signature.size();
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      length != kEd25519SignatureSize) {
    return Status::IOError("signing: " + OpenSslError());
  }
  return signature;
}

}  // namespace re2po
