#include "store/fleet/pusher.h"

#include <deque>
#include <future>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "store/base/clock.h"
#include "store/base/log.h"
#include "store/fleet/remote_catalog.h"
#include "store/fleet/remote_keys.h"
#include "store/fleet/signed_catalog.h"
#include "store/fleet/version_object.h"
#include "store/hooks/test_hooks.h"

namespace re2po {
namespace {

struct RemoteChunk {
  Digest pack;
  uint64_t offset = 0;
  uint64_t length = 0;
  ChunkInfo info;
};
using RemoteChunkIndex = std::unordered_map<Digest, RemoteChunk, DigestHash>;

std::string RefName(const std::string& model, uint64_t version) {
  return model + "@" + std::to_string(version);
}

Status EnsureMarker(ObjectStore& remote) {
  Result<std::string> marker = remote.Get(remote_keys::kMarker);
  if (marker.ok()) {
    if (*marker == remote_keys::kMarkerText) return Status::Ok();
    return Status::Unsupported(remote.Describe() +
                               " holds a remote of another layout: " + marker->substr(0, 40));
  }
  if (!marker.status().IsNotFound()) return marker.status();
  return remote.Put(remote_keys::kMarker, remote_keys::kMarkerText);
}

// Where the remote already keeps each chunk, from the versions it holds,
// and the content digest (Merkle root) of each version object.
Status IndexRemoteChunks(ObjectStore& remote, const RemoteEntries& entries, RemoteChunkIndex& index,
                         std::map<Digest, Digest>& contents) {
  for (const auto& [key, entry] : entries) {
    if (contents.contains(entry.object)) continue;
    ASSIGN_OR_RETURN(VersionObject object, FetchVersionObject(remote, entry.object));
    contents.emplace(entry.object, object.record.digest);
    for (const auto& [digest, location] : object.chunks) {
      index.try_emplace(digest, RemoteChunk{object.packs[location.pack], location.offset,
                                            location.length, location.info});
    }
  }
  return Status::Ok();
}

Result<std::vector<VersionRecord>> SelectVersions(const CatalogSnapshot& catalog,
                                                  const std::vector<VersionRef>& refs) {
  std::vector<VersionRecord> selected;
  if (refs.empty()) {
    for (const ModelEntry& model : catalog.models()) {
      selected.insert(selected.end(), model.versions.begin(), model.versions.end());
    }
    return selected;
  }
  for (const VersionRef& ref : refs) {
    const ModelEntry* model = catalog.FindModel(ref.model);
    if (model == nullptr) return Status::NotFound("no model " + ref.model + " in the store");
    if (!ref.version) {
      selected.insert(selected.end(), model->versions.begin(), model->versions.end());
      continue;
    }
    const VersionRecord* record = model->Find(*ref.version);
    if (record == nullptr)
      return Status::NotFound("no version " + RefName(ref.model, *ref.version));
    selected.push_back(*record);
  }
  return selected;
}

// Cuts new chunk values into packs of about `pack_bytes` and uploads them,
// a few at a time; a pack the remote has already (a rerun) is not sent again.
class PackUploader {
 public:
  PackUploader(Store& local, ObjectStore& remote, const PushOptions& options,
               RemoteChunkIndex& index, PushSummary& summary)
      : local_(local), remote_(remote), options_(options), index_(index), summary_(summary) {}

  Status Add(const Digest& chunk, const ChunkInfo& info) {
    if (index_.contains(chunk) || pending_chunks_.contains(chunk)) return Status::Ok();
    ASSIGN_OR_RETURN(std::string value, local_.StoredChunkValue(chunk));
    if (!pack_.empty() && pack_.size() + value.size() > options_.pack_bytes)
      RETURN_IF_ERROR(Seal());
    members_.push_back({chunk, pack_.size(), value.size(), info});
    pack_.append(value);
    pending_chunks_.insert(chunk);
    return Status::Ok();
  }

  // Seals the last pack and waits for every upload: after this, every added
  // chunk is on the remote and in the index.
  Status Finish() {
    if (!pack_.empty()) RETURN_IF_ERROR(Seal());
    while (!uploads_.empty()) RETURN_IF_ERROR(WaitOldest());
    return Status::Ok();
  }

 private:
  struct Member {
    Digest chunk;
    uint64_t offset;
    uint64_t length;
    ChunkInfo info;
  };

  Status Seal() {
    const Digest name = Sha256Of(pack_);
    for (const Member& member : members_) {
      index_[member.chunk] = RemoteChunk{name, member.offset, member.length, member.info};
      pending_chunks_.erase(member.chunk);
    }
    summary_.chunks_uploaded += members_.size();
    members_.clear();
    while (uploads_.size() >= std::max(1u, options_.parallel_uploads)) {
      RETURN_IF_ERROR(WaitOldest());
    }
    uploads_.push_back(std::async(std::launch::async, [this, name, pack = std::move(pack_)] {
      return Upload(remote_keys::Pack(name), pack);
    }));
    pack_.clear();
    return Status::Ok();
  }

  Status Upload(const std::string& key, const std::string& bytes) {
    ASSIGN_OR_RETURN(std::optional<uint64_t> size, remote_.Size(key));
    if (size && *size == bytes.size()) {
      std::lock_guard lock(summary_mutex_);
      ++summary_.packs_already_there;
      return Status::Ok();
    }
    RETURN_IF_ERROR(remote_.Put(key, bytes));
    std::lock_guard lock(summary_mutex_);
    ++summary_.packs_uploaded;
    summary_.bytes_uploaded += bytes.size();
    uploaded_ += bytes.size();
    if (options_.progress) options_.progress(uploaded_, 0);
    return Status::Ok();
  }

  Status WaitOldest() {
    Status status = uploads_.front().get();
    uploads_.pop_front();
    return status;
  }

  Store& local_;
  ObjectStore& remote_;
  const PushOptions& options_;
  RemoteChunkIndex& index_;
  PushSummary& summary_;
  std::mutex summary_mutex_;
  uint64_t uploaded_ = 0;
  std::string pack_;
  std::vector<Member> members_;
  std::unordered_set<Digest, DigestHash> pending_chunks_;
  std::deque<std::future<Status>> uploads_;
};

// The version's files and every chunk its reads need, bases included.
Status CollectFiles(Store& local, const VersionTree& tree, VersionObject& object,
                    std::vector<std::pair<Digest, ChunkInfo>>& chunks) {
  std::set<Digest> files;
  std::set<Digest> seen;
  for (const TreeEntry& entry : tree.entries()) {
    if (entry.type != EntryType::kFile || !files.insert(entry.digest).second) continue;
    ASSIGN_OR_RETURN(std::shared_ptr<const Recipe> recipe, local.FileRecipe(entry.digest));
    ASSIGN_OR_RETURN(FileInfo info, local.FileDetails(entry.digest));
    for (const Extent& extent : recipe->extents) {
      if (!seen.insert(extent.chunk).second) continue;
      ASSIGN_OR_RETURN(ChunkInfo chunk_info, local.ChunkDetails(extent.chunk));
      for (const Digest& base : chunk_info.Bases()) {
        if (!seen.insert(base).second) continue;
        ASSIGN_OR_RETURN(ChunkInfo base_info, local.ChunkDetails(base));
        chunks.emplace_back(base, base_info);
      }
      chunks.emplace_back(extent.chunk, chunk_info);
    }
    object.files.push_back({entry.digest, *recipe, std::move(info)});
  }
  return Status::Ok();
}

void LocateChunks(const std::vector<std::pair<Digest, ChunkInfo>>& chunks,
                  const RemoteChunkIndex& index, VersionObject& object) {
  std::map<Digest, uint32_t> pack_numbers;
  for (const auto& [digest, info] : chunks) {
    const RemoteChunk& where = index.at(digest);
    auto [it, added] =
        pack_numbers.try_emplace(where.pack, static_cast<uint32_t>(object.packs.size()));
    if (added) object.packs.push_back(where.pack);
    object.chunks[digest] = ChunkLocation{it->second, where.offset, where.length, where.info};
  }
}

class Pusher {
 public:
  Pusher(Store& local, ObjectStore& remote, const PushOptions& options)
      : local_(local),
        remote_(remote),
        options_(options),
        packs_(local, remote, options, index_, summary_) {}

  Result<PushSummary> Run() {
    RETURN_IF_ERROR(EnsureMarker(remote_));
    RETURN_IF_ERROR(ReadRemoteCatalog(state_, /*warn=*/true));
    ASSIGN_OR_RETURN(std::vector<VersionRecord> selected,
                     SelectVersions(*local_.Catalog(), options_.refs));
    RETURN_IF_ERROR(IndexRemoteChunks(remote_, state_.entries, index_, contents_));
    LogRecord record;
    record.time_ms = NowNs() / 1'000'000;
    for (const VersionRecord& version : selected) {
      ASSIGN_OR_RETURN(std::optional<CatalogEntry> entry, PushVersion(version));
      if (entry) record.added.push_back(std::move(*entry));
    }
    record.access = AccessChanges(selected);
    if (record.added.empty() && record.access.empty()) return summary_;
    RETURN_IF_ERROR(Publish(record));
    return summary_;
  }

 private:
  // Uploads what `version` needs; nullopt when the remote has these bytes.
  Result<std::optional<CatalogEntry>> PushVersion(const VersionRecord& version) {
    const std::string name = RefName(version.model, version.version);
    VersionObject object;
    object.record = version;
    ASSIGN_OR_RETURN(std::shared_ptr<const VersionTree> tree, local_.Tree(version));
    object.tree = *tree;
    if (auto it = state_.entries.find({version.model, version.version});
        it != state_.entries.end()) {
      // The same tree (names, modes, contents) is the same version, whoever
      // imported it and when.
      if (contents_.at(it->second.object) == version.digest) {
        summary_.already_there.push_back(name);
        return std::optional<CatalogEntry>();
      }
      return Status::AlreadyExists(name + " is on the remote with other bytes (pushed from " +
                                   "another store?); versions are immutable: import it as a " +
                                   "new version and push that");
    }
    std::vector<std::pair<Digest, ChunkInfo>> chunks;
    RETURN_IF_ERROR(CollectFiles(local_, *tree, object, chunks));
    for (const auto& [chunk, info] : chunks) RETURN_IF_ERROR(packs_.Add(chunk, info));
    RETURN_IF_ERROR(packs_.Finish());
    const std::string final_bytes = ObjectBytes(object, chunks);
    const Digest final_digest = Sha256Of(final_bytes);
    contents_.emplace(final_digest, version.digest);
    RETURN_IF_ERROR(remote_.Put(remote_keys::Version(final_digest), final_bytes));
    RETURN_IF_ERROR(remote_.RecordVersion(References(version, final_digest, object)));
    summary_.bytes_uploaded += final_bytes.size();
    summary_.pushed.push_back(name);
    return std::optional<CatalogEntry>(
        CatalogEntry{version.model, version.version, final_digest, final_bytes.size(), ""});
  }

  // The access of every model pushed, where the remote's differs: in the
  // same record as the versions, so a node never shows them without it.
  std::vector<AccessEntry> AccessChanges(const std::vector<VersionRecord>& selected) {
    std::vector<AccessEntry> changes;
    const auto catalog = local_.Catalog();
    std::set<std::string> models;
    for (const VersionRecord& version : selected) models.insert(version.model);
    for (const std::string& model : models) {
      const ModelEntry* entry = catalog->FindModel(model);
      const ModelAccess local = entry == nullptr ? ModelAccess{} : entry->access;
      auto it = state_.access.find(model);
      const ModelAccess remote = it == state_.access.end() ? ModelAccess{} : it->second.access;
      if (local == remote) continue;
      changes.push_back(AccessEntry{model, local, 0, ""});
      summary_.access_pushed.push_back(model);
    }
    return changes;
  }

  static VersionReferences References(const VersionRecord& version, const Digest& object_name,
                                      const VersionObject& object) {
    VersionReferences references{
        version.model, version.version, remote_keys::Version(object_name), {}};
    for (const Digest& pack : object.packs) references.pack_keys.push_back(remote_keys::Pack(pack));
    return references;
  }

  // The object's bytes, every chunk located where the index has it.
  std::string ObjectBytes(VersionObject& object,
                          const std::vector<std::pair<Digest, ChunkInfo>>& chunks) {
    LocateChunks(chunks, index_, object);
    return object.Encode();
  }

  Status Publish(const LogRecord& record) {
    const std::string key = remote_keys::NewLogRecord(record.time_ms);
    ASSIGN_OR_RETURN(std::string sealed,
                     SealCatalogObject(SignedKind::kLogRecord, record.Encode(), options_.key));
    CrashPoint("push-before-record");
    RETURN_IF_ERROR(remote_.Put(key, sealed));
    CrashPoint("push-before-head");
    summary_.log_record = key;
    RemoteCatalogState after = state_;
    RETURN_IF_ERROR(ReadRemoteCatalog(after, /*warn=*/false));
    RETURN_IF_ERROR(WriteHead(after));
    for (const CatalogEntry& entry : record.added) {
      const CatalogEntry& kept = after.entries.at({entry.model, entry.version});
      if (kept.object != entry.object) {
        return Status::AlreadyExists(RefName(entry.model, entry.version) +
                                     " was pushed at the same time by another publisher (" +
                                     kept.origin + "); nodes keep that one");
      }
    }
    return Status::Ok();
  }

  // A signed push reads only what its own key signed: a record someone else
  // put under the prefix must not become trusted by being listed in a head
  // this publisher signs. A head it cannot verify (another key, a rollback)
  // stops the push rather than be replaced by one that forgets versions.
  // Warnings are said once per push: not again when re-reading after publishing.
  Status ReadRemoteCatalog(RemoteCatalogState& state, bool warn) {
    const PublicKey* trust = options_.key ? &options_.key->public_key() : nullptr;
    RemoteCatalogReader reader(remote_, trust, [warn](const std::string& warning) {
      if (warn) Logger("push")->warn("{}", warning);
    });
    RETURN_IF_ERROR(reader.Update(state).status());
    if (!reader.refused_head().empty()) {
      return Status::PermissionDenied("cannot push over the remote's catalog head (" +
                                      reader.refused_head() +
                                      "): push with the key that signed it");
    }
    return Status::Ok();
  }

  Status WriteHead(const RemoteCatalogState& state) {
    CatalogHead head;
    head.generation = state.head_generation + 1;
    head.time_ms = NowNs() / 1'000'000;
    head.records.assign(state.records.begin(), state.records.end());
    for (const auto& [key, entry] : state.entries) head.entries.push_back(entry);
    for (const auto& [model, entry] : state.access) head.access.push_back(entry);
    ASSIGN_OR_RETURN(std::string sealed,
                     SealCatalogObject(SignedKind::kHead, head.Encode(), options_.key));
    RETURN_IF_ERROR(remote_.Put(remote_keys::kHead, sealed));
    summary_.head_generation = head.generation;
    return Status::Ok();
  }

  Store& local_;
  ObjectStore& remote_;
  const PushOptions& options_;
  RemoteCatalogState state_;
  RemoteChunkIndex index_;
  std::map<Digest, Digest> contents_;  // version object -> its tree's Merkle root
  PushSummary summary_;
  PackUploader packs_;
};

}  // namespace

Result<PushSummary> Push(Store& local, ObjectStore& remote, const PushOptions& options) {
  Pusher pusher(local, remote, options);
  Result<PushSummary> summary = pusher.Run();
  if (summary.ok() && !summary->pushed.empty()) {
    Logger("push")->info("pushed {} versions to {}: {} chunks in {} packs, {} bytes",
                         summary->pushed.size(), remote.Describe(), summary->chunks_uploaded,
                         summary->packs_uploaded, summary->bytes_uploaded);
  }
  return summary;
}

}  // namespace re2po
