// Reading a remote's catalog: the head, then every log record the head has
// not folded in, each checked against the trusted key. Publishers read it to
// number versions and skip what is there; nodes poll it to show new
// versions. What has been read is kept, so a poll reads only what is new.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "store/base/status.h"
#include "store/crypto/ed25519.h"
#include "store/fleet/signed_catalog.h"
#include "store/remote/object_store.h"

namespace re2po {

// (model, version) -> entry.
using RemoteEntries = std::map<std::pair<std::string, uint64_t>, CatalogEntry>;

// What a reader has taken from a remote so far; nodes persist it, so a
// restarted node never goes back to an older head.
struct RemoteCatalogState {
  uint64_t head_generation = 0;  // the newest head accepted
  std::string head_etag;         // of that head, for a conditional GET
  RemoteEntries entries;
  std::set<std::string> records;  // log records applied or folded into an accepted head
  // The raw public key every head and record above was checked against;
  // empty when nothing was verified. A node that now trusts a key throws
  // away a state accepted without it, or under another.
  std::string verified_by;
  std::map<std::string, AccessEntry> access;  // model -> the newest access pushed

  std::string Encode() const;
  static Result<RemoteCatalogState> Decode(std::string_view bytes);
};

// Something a reader refused or could not reconcile, for the log.
using CatalogWarning = std::function<void(const std::string&)>;

class RemoteCatalogReader {
 public:
  // `trust` may be null: then nothing is verified (and the caller says so).
  RemoteCatalogReader(ObjectStore& remote, const PublicKey* trust, CatalogWarning warn);

  // Brings `state` up to date. Entries are only ever added: a version a
  // reader has shown keeps its object even if a later record claims its
  // number for other bytes (a warning). Returns whether anything changed.
  Result<bool> Update(RemoteCatalogState& state);

  // Why the last head read was refused (unsigned, another key's, a
  // rollback), or empty when it was accepted, unchanged or absent.
  const std::string& refused_head() const { return refused_head_; }

 private:
  Result<bool> ApplyHead(RemoteCatalogState& state);
  Result<bool> ApplyNewRecords(RemoteCatalogState& state);
  bool AddEntry(RemoteCatalogState& state, const CatalogEntry& entry);
  // Keeps the newer of what `state` has and `entry`; true if the access changed.
  static bool ApplyAccess(RemoteCatalogState& state, const AccessEntry& entry);
  void WarnOnce(const std::string& key, const std::string& message);

  ObjectStore& remote_;
  const PublicKey* trust_;
  CatalogWarning warn_;
  std::set<std::string> refused_;          // warnings already given
  std::set<std::string> skipped_records_;  // refused log records, not fetched again
  std::string refused_head_;
};

}  // namespace re2po
