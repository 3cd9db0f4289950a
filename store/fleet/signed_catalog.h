// The catalog of a remote: which versions it holds and where their version
// objects are. Object stores offer no compare-and-swap that every engine
// honours (Ceph Pacific ignores If-Match on PUT), so publishers never
// overwrite each other's work: each push appends one signed log record
// (log/<time>-<random>) naming the versions it adds, then rewrites the head,
// a signed snapshot of every record it saw, which nodes read first. The
// catalog is the head's entries plus those of any record the head lacks (a
// push whose head lost a race). A node that trusts a key refuses anything
// unsigned or signed by another key, and a head older than one it has seen.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/base/coding.h"
#include "store/base/digest.h"
#include "store/base/status.h"
#include "store/catalog/records.h"
#include "store/crypto/ed25519.h"

namespace re2po {

struct CatalogEntry {
  std::string model;
  uint64_t version = 0;
  Digest object;  // the version object's SHA-256 and name
  uint64_t object_size = 0;
  std::string origin;  // key of the log record that added it
};

// A model's access as a publisher pushed it. Unlike versions it changes:
// of two, the one pushed later (set_ms, then origin) wins.
struct AccessEntry {
  std::string model;
  ModelAccess access;
  int64_t set_ms = 0;
  std::string origin;  // key of the log record that set it

  bool NewerThan(const AccessEntry& other) const {
    return set_ms != other.set_ms ? set_ms > other.set_ms : origin > other.origin;
  }

  // As heads and a node's saved state keep it: with set_ms and origin.
  void EncodeTo(std::string& out) const;
  static Result<AccessEntry> DecodeFrom(Decoder& decoder);
};

// Records and heads carrying access are format 2, which readers older than
// access refuse: a node that cannot apply a model's access must not show
// the model as open to everyone.
struct LogRecord {
  int64_t time_ms = 0;
  std::vector<CatalogEntry> added;  // origin left empty: it is the record's own key
  std::vector<AccessEntry> access;  // set_ms is time_ms, origin the record's key: not stored

  std::string Encode() const;
  static Result<LogRecord> Decode(std::string_view body);
};

struct CatalogHead {
  uint64_t generation = 0;  // one more than the newest head its writer saw
  int64_t time_ms = 0;
  std::vector<std::string> records;  // every log record folded into it
  std::vector<CatalogEntry> entries;
  std::vector<AccessEntry> access;

  std::string Encode() const;
  static Result<CatalogHead> Decode(std::string_view body);
};

enum class SignedKind : uint8_t { kLogRecord = 1, kHead = 2 };

// Wraps `body` with the signer's public key and signature (or unsigned when
// `key` is null).
Result<std::string> SealCatalogObject(SignedKind kind, std::string_view body,
                                      const SigningKey* key);

struct OpenedCatalogObject {
  std::string body;
  std::string signer;  // key id, empty when unsigned
};

// Checks the wrapper and, with `trust`, that it is signed by that key:
// PermissionDenied naming what is wrong (unsigned, another key's, a
// signature that does not verify). Without `trust` anything well-formed is
// accepted.
Result<OpenedCatalogObject> OpenCatalogObject(SignedKind kind, std::string_view bytes,
                                              const PublicKey* trust);

}  // namespace re2po
