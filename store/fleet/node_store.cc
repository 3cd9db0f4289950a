#include "store/fleet/node_store.h"

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <mutex>
#include <unordered_map>

#include "store/base/histogram.h"
#include "store/base/log.h"
#include "store/base/work_queue.h"
#include "store/chunks/chunk_cache.h"
#include "store/chunks/chunk_decoder.h"
#include "store/chunks/in_flight.h"
#include "store/fetch_counters.h"
#include "store/fleet/fetch_plan.h"
#include "store/fleet/node_cache.h"
#include "store/fleet/node_index.h"
#include "store/fleet/remote_catalog.h"
#include "store/fleet/remote_keys.h"
#include "store/fleet/version_object.h"

namespace re2po {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Records of the node cache (docs/format.md, "Node cache").
constexpr std::string_view kStateRecord = "state";
constexpr std::string_view kIdsRecord = "ids";
std::string ObjectRecord(const Digest& object) { return "object/" + object.Hex(); }

std::shared_ptr<spdlog::logger> Log() { return Logger("node"); }

class NodeStore final : public Store {
 public:
  NodeStore(NodeOptions options, std::unique_ptr<NodeCache> cache)
      : options_(std::move(options)),
        cache_(std::move(cache)),
        reader_(*options_.remote, options_.trust ? &*options_.trust : nullptr,
                [](const std::string& warning) { Log()->warn("{}", warning); }),
        memory_(options_.memory_cache_bytes,
                std::clamp<size_t>(options_.memory_cache_bytes / (8 << 20), 1, 16)),
        planned_fetches_(std::max<size_t>(options_.fetch_parallelism, 1)) {}

  Status Start();

  std::shared_ptr<const CatalogSnapshot> Catalog() const override { return index()->catalog; }
  Result<bool> Refresh() override;
  Result<std::shared_ptr<const VersionTree>> Tree(const VersionRecord& version) override;
  Result<std::shared_ptr<const Recipe>> FileRecipe(const Digest& file) override;
  Result<FileInfo> FileDetails(const Digest& file) override;
  Result<ChunkBytes> ReadChunk(const Digest& chunk) override;
  Result<std::string> StoredChunkValue(const Digest& chunk) override;
  Result<ChunkInfo> ChunkDetails(const Digest& chunk) override;
  std::string_view Kind() const override { return "remote"; }
  StoreCounters Counters() const override;
  bool ChunkCached(const Digest& chunk) const override { return memory_.Contains(chunk); }
  Result<std::vector<ChunkSlice>> ReadSlices(const Recipe& recipe, uint64_t offset,
                                             size_t length) override {
    return SlicesOfRecipe(*this, recipe, offset, length);
  }
  void ExpectReads(const Recipe& recipe, uint64_t from) override;
  Result<VerifyReport> Verify(const ProgressFn& progress) override;
  Result<StoreStats> Stats() override;
  const fs::path& dir() const override { return cache_->dir(); }

  Result<ImportSummary> Import(const ImportRequest&) override { return ReadOnly(); }
  Status Remove(const std::string&, uint64_t) override { return ReadOnly(); }
  Status SetModelAccess(const std::string&, const ModelAccess&) override { return ReadOnly(); }
  Status PutSignature(const VersionRecord&, const VersionSignature&) override { return ReadOnly(); }
  Result<GcSummary> CollectGarbage(const ProgressFn&) override { return ReadOnly(); }

 private:
  static Status ReadOnly() {
    return Status::Unsupported(
        "a node's view of a remote is read-only: push from a publisher's store");
  }
  std::shared_ptr<const NodeIndex> index() const {
    std::lock_guard lock(index_mutex_);
    return index_;
  }
  Result<bool> Poll();
  void ForgetUnverifiedCatalog();
  Result<std::shared_ptr<const VersionObject>> LoadObject(const CatalogEntry& entry, bool remote);
  Result<bool> LoadObjects(bool remote);
  Status Publish();
  void WriteNodeStats() const;

  Result<ChunkBytes> Load(const Digest& chunk, bool base_of_delta);
  Result<ChunkBytes> BaseChunk(const Digest& base);
  Result<ChunkBytes> Decode(const Digest& chunk, std::string_view value, ChunkCheck check,
                            bool base_of_delta);
  Result<ChunkBytes> FetchFromRemote(const Digest& chunk, bool base_of_delta);
  FetchRun PlanRun(const NodeIndex& index, const Digest& first, const NodeChunk& where);
  // `wanted` is decoded and returned; the run's other chunks go to memory_.
  Result<ChunkBytes> RunFetch(const FetchRun& run, const Digest& wanted, bool base_of_delta);

  NodeOptions options_;
  std::unique_ptr<NodeCache> cache_;
  RemoteCatalogReader reader_;

  std::mutex refresh_mutex_;  // one refresh at a time; guards the members below it
  RemoteCatalogState state_;
  NodeIds ids_;
  std::map<std::pair<std::string, uint64_t>, std::shared_ptr<const VersionObject>> objects_;
  Clock::time_point last_poll_{};
  std::optional<StatusCode> poll_failing_;  // since the last poll that worked

  mutable std::mutex index_mutex_;  // guards the pointer only
  std::shared_ptr<const NodeIndex> index_;

  mutable ChunkCache memory_;  // decoded, verified chunks
  InFlightFetches in_flight_;
  std::mutex fetching_mutex_;
  std::unordered_map<Digest, std::shared_future<void>, DigestHash> fetching_;
  // For Counters(): reads of the disk cache, and ranged GETs of the remote
  // (its client counts requests, bytes, retries and errors itself).
  FetchCounters fetch_counters_;
  Histogram remote_ns_{LatencyBoundsNs()};
  WorkQueue planned_fetches_;  // last: its threads stop before the rest goes
};

Status NodeStore::Start() {
  if (!options_.trust) {
    Log()->warn("no trusted key: the catalog of {} is not verified (mount with -o trust=KEY.pub)",
                options_.remote->Describe());
  }
  std::lock_guard lock(refresh_mutex_);
  ASSIGN_OR_RETURN(auto state, cache_->GetRecord(kStateRecord));
  if (state) {
    ASSIGN_OR_RETURN(state_, RemoteCatalogState::Decode(*state));
  }
  // A fresh cache has no catalog to doubt.
  if (state && options_.trust && state_.verified_by != options_.trust->raw()) {
    ForgetUnverifiedCatalog();
  }
  ASSIGN_OR_RETURN(auto ids, cache_->GetRecord(kIdsRecord));
  if (ids) {
    ASSIGN_OR_RETURN(ids_, NodeIds::Decode(*ids));
  }
  RETURN_IF_ERROR(LoadObjects(/*remote=*/false).status());
  RETURN_IF_ERROR(Publish());
  Result<bool> polled = Poll();
  if (!polled.ok()) {
    Log()->warn("{} does not answer ({}); serving the {} versions in the cache",
                options_.remote->Describe(), polled.status().message(), objects_.size());
  }
  return Status::Ok();
}

// The cache's catalog was accepted without the key now trusted (or under
// another): nothing of it is served until the remote's catalog is read
// again and checked. Chunks stay: they are checked against their names.
void NodeStore::ForgetUnverifiedCatalog() {
  Log()->warn(
      "the cached catalog of {} was {}; reading it again from the remote and checking it "
      "against the trusted key",
      options_.remote->Describe(),
      state_.verified_by.empty() ? "accepted without a trusted key" : "accepted under another key");
  state_ = RemoteCatalogState{};
}

Result<bool> NodeStore::Refresh() {
  std::lock_guard lock(refresh_mutex_);
  if (Clock::now() - last_poll_ < options_.poll_every) return false;
  Result<bool> polled = Poll();
  WriteNodeStats();
  if (polled.ok()) {
    if (poll_failing_) Log()->info("{} answers again", options_.remote->Describe());
    poll_failing_.reset();
    return polled;
  }
  // Serving from the cache goes on; say so once per kind of failure, not at
  // every poll (the messages differ in their timings).
  if (poll_failing_ != polled.status().code()) {
    poll_failing_ = polled.status().code();
    Log()->warn("cannot refresh the catalog of {}: {}; serving what is cached",
                options_.remote->Describe(), polled.status().message());
  }
  return false;
}

// Catches up with the remote; a version appears once its object is here
// and checked, so it appears whole or not at all.
Result<bool> NodeStore::Poll() {
  last_poll_ = Clock::now();
  ASSIGN_OR_RETURN(bool catalog_changed, reader_.Update(state_));
  std::string verified_by = options_.trust ? options_.trust->raw() : "";
  if (state_.verified_by != verified_by) {
    state_.verified_by = std::move(verified_by);
    catalog_changed = true;
  }
  if (catalog_changed) RETURN_IF_ERROR(cache_->PutRecord(kStateRecord, state_.Encode()));
  ASSIGN_OR_RETURN(bool loaded, LoadObjects(/*remote=*/true));
  // A change of access alone loads nothing, and must still be shown.
  if (!loaded && !catalog_changed) return false;
  RETURN_IF_ERROR(Publish());
  return true;
}

Result<std::shared_ptr<const VersionObject>> NodeStore::LoadObject(const CatalogEntry& entry,
                                                                   bool remote) {
  ASSIGN_OR_RETURN(auto cached, cache_->GetRecord(ObjectRecord(entry.object)));
  if (cached && Sha256Of(*cached) == entry.object) {
    ASSIGN_OR_RETURN(VersionObject object, VersionObject::Decode(*cached));
    return std::make_shared<const VersionObject>(std::move(object));
  }
  if (!remote) return std::shared_ptr<const VersionObject>();
  ASSIGN_OR_RETURN(VersionObject object, FetchVersionObject(*options_.remote, entry.object));
  if (object.record.model != entry.model || object.record.version != entry.version) {
    return Status::Corruption(remote_keys::Version(entry.object) + " holds " + object.record.model +
                              "@" + std::to_string(object.record.version) + ", not " + entry.model +
                              "@" + std::to_string(entry.version));
  }
  RETURN_IF_ERROR(cache_->PutRecord(ObjectRecord(entry.object), object.Encode()));
  return std::make_shared<const VersionObject>(std::move(object));
}

// Loads the objects of entries not loaded yet; true when any was. An
// object that cannot be had now is tried again at the next poll.
Result<bool> NodeStore::LoadObjects(bool remote) {
  bool loaded = false;
  for (const auto& [key, entry] : state_.entries) {
    if (objects_.contains(key)) continue;
    Result<std::shared_ptr<const VersionObject>> object = LoadObject(entry, remote);
    if (!object.ok()) {
      Log()->warn("{}@{} not shown yet: {}", entry.model, entry.version, object.status().message());
      continue;
    }
    if (*object == nullptr) continue;
    objects_.emplace(key, std::move(*object));
    loaded = true;
  }
  return loaded;
}

Status NodeStore::Publish() {
  std::shared_ptr<const NodeIndex> fresh =
      BuildNodeIndex(state_.head_generation, objects_, state_.access, ids_);
  RETURN_IF_ERROR(cache_->PutRecord(kIdsRecord, ids_.Encode()));
  std::lock_guard lock(index_mutex_);
  index_ = std::move(fresh);
  return Status::Ok();
}

// For `re2po cache stats` while this daemon holds the cache.
void NodeStore::WriteNodeStats() const {
  const ObjectStoreCounters& counters = options_.remote->counters();
  const NodeCacheStats cache = cache_->Stats();
  const fs::path path = cache_->dir() / "node-stats.json";
  std::ofstream out(path.string() + ".tmp", std::ios::trunc);
  out << "{\"remote\": {\"requests\": " << counters.requests
      << ", \"bytes_received\": " << counters.bytes_received
      << ", \"bytes_sent\": " << counters.bytes_sent << ", \"retries\": " << counters.retries
      << ", \"errors\": " << counters.errors << "}, \"cache\": {\"chunks\": " << cache.chunks
      << ", \"bytes\": " << cache.bytes << ", \"max_bytes\": " << cache.max_bytes
      << ", \"evicted_chunks\": " << cache.evicted_chunks
      << ", \"evicted_bytes\": " << cache.evicted_bytes << ", \"disk_bytes\": " << cache.disk_bytes
      << "}}\n";
  out.close();
  std::error_code ignored;
  fs::rename(path.string() + ".tmp", path, ignored);
}

Result<std::shared_ptr<const VersionTree>> NodeStore::Tree(const VersionRecord& version) {
  std::shared_ptr<const NodeIndex> snapshot = index();
  auto it = snapshot->by_version.find({version.model, version.version});
  if (it == snapshot->by_version.end()) {
    return Status::NotFound("version " + version.model + "@" + std::to_string(version.version) +
                            " is not on this node");
  }
  return std::shared_ptr<const VersionTree>(it->second, &it->second->tree);
}

Result<std::shared_ptr<const Recipe>> NodeStore::FileRecipe(const Digest& file) {
  std::shared_ptr<const NodeIndex> snapshot = index();
  auto it = snapshot->files.find(file);
  if (it == snapshot->files.end()) return Status::NotFound("no recipe for file " + file.Hex());
  return std::shared_ptr<const Recipe>(snapshot, &it->second->recipe);
}

Result<FileInfo> NodeStore::FileDetails(const Digest& file) {
  std::shared_ptr<const NodeIndex> snapshot = index();
  auto it = snapshot->files.find(file);
  if (it == snapshot->files.end()) return Status::NotFound("no file " + file.Hex());
  return it->second->info;
}

Result<ChunkInfo> NodeStore::ChunkDetails(const Digest& chunk) {
  std::shared_ptr<const NodeIndex> snapshot = index();
  auto it = snapshot->chunks.find(chunk);
  if (it == snapshot->chunks.end()) return Status::NotFound("no chunk " + chunk.Hex());
  return it->second.location.info;
}

Result<std::string> NodeStore::StoredChunkValue(const Digest& chunk) {
  RETURN_IF_ERROR(ReadChunk(chunk).status());  // in the cache from now on
  ASSIGN_OR_RETURN(auto value, cache_->Get(chunk));
  if (!value) return Status::NotFound("chunk " + chunk.Hex() + " left the cache");
  return std::move(*value);
}

Result<ChunkBytes> NodeStore::ReadChunk(const Digest& chunk) {
  if (ChunkBytes cached = memory_.Lookup(chunk)) return cached;
  return in_flight_.Share(chunk, [&]() -> Result<ChunkBytes> {
    if (ChunkBytes cached = memory_.LookupAgain(chunk)) return cached;
    ASSIGN_OR_RETURN(ChunkBytes bytes, Load(chunk, /*base_of_delta=*/false));
    memory_.Insert(chunk, bytes);
    return bytes;
  });
}

// Bases bypass the in-flight tables: a base wanted by a run could otherwise
// wait on a run that waits on a base of ours.
Result<ChunkBytes> NodeStore::BaseChunk(const Digest& base) {
  if (ChunkBytes cached = memory_.Lookup(base)) return cached;
  ASSIGN_OR_RETURN(ChunkBytes bytes, Load(base, /*base_of_delta=*/true));
  memory_.Insert(base, bytes);
  return bytes;
}

Result<ChunkBytes> NodeStore::Decode(const Digest& chunk, std::string_view value, ChunkCheck check,
                                     bool base_of_delta) {
  return DecodeChunkValue(
      chunk, value, check, base_of_delta, [this](const Digest& base) { return BaseChunk(base); },
      options_.keyring.get());
}

// From the node cache, else from the remote. A cached value that no longer
// checks (the node's disk damaged it) is fetched again.
Result<ChunkBytes> NodeStore::Load(const Digest& chunk, bool base_of_delta) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    const auto start = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(auto value, cache_->Get(chunk));
    if (value) {
      Result<ChunkBytes> decoded = Decode(chunk, *value, ChunkCheck::kFast, base_of_delta);
      fetch_counters_.AddBytes(value->size());
      fetch_counters_.Fetched(start, decoded.ok());
      if (decoded.ok() || !decoded.status().IsCorruption()) return decoded;
      Log()->error("cached chunk {} is damaged ({}); fetching it again", chunk.Hex(),
                   decoded.status().message());
      RETURN_IF_ERROR(cache_->Drop(chunk));
    }
    Result<ChunkBytes> fetched = FetchFromRemote(chunk, base_of_delta);
    if (fetched.ok() || attempt == 1) return fetched;
    // Another reader's run may have brought it meanwhile: look once more.
    if (!cache_->Contains(chunk)) return fetched;
  }
  return Status::NotFound("chunk " + chunk.Hex());
}

FetchRun NodeStore::PlanRun(const NodeIndex& index, const Digest& first, const NodeChunk& where) {
  FetchRun run{
      *where.pack, where.location.offset, where.location.length, {{first, where.location}}};
  auto next = index.next_in_file.find(first);
  while (next != index.next_in_file.end() && next->second &&
         run.length < options_.fetch_window_bytes) {
    const Digest& chunk = *next->second;
    auto found = index.chunks.find(chunk);
    if (found == index.chunks.end() || *found->second.pack != run.pack ||
        found->second.location.offset != run.offset + run.length || cache_->Contains(chunk) ||
        fetching_.contains(chunk) || memory_.Contains(chunk)) {
      break;
    }
    run.chunks.emplace_back(chunk, found->second.location);
    run.length += found->second.location.length;
    next = index.next_in_file.find(chunk);
  }
  return run;
}

Result<ChunkBytes> NodeStore::FetchFromRemote(const Digest& chunk, bool base_of_delta) {
  std::shared_ptr<const NodeIndex> snapshot = index();
  auto where = snapshot->chunks.find(chunk);
  if (where == snapshot->chunks.end()) {
    return Status::NotFound("chunk " + chunk.Hex() + " is in no version this node knows");
  }
  std::unique_lock lock(fetching_mutex_);
  if (auto running = fetching_.find(chunk); running != fetching_.end() && !base_of_delta) {
    std::shared_future<void> done = running->second;
    lock.unlock();
    done.wait();
    ASSIGN_OR_RETURN(auto value, cache_->Get(chunk));
    if (value) return Decode(chunk, *value, ChunkCheck::kFast, base_of_delta);
    lock.lock();  // that run failed on it: fetch it ourselves
  }
  FetchRun run = PlanRun(*snapshot, chunk, where->second);
  std::promise<void> finished;
  std::shared_future<void> done = finished.get_future().share();
  std::vector<Digest> ours;
  for (const auto& [member, location] : run.chunks) {
    if (fetching_.try_emplace(member, done).second) ours.push_back(member);
  }
  lock.unlock();
  Result<ChunkBytes> result = RunFetch(run, chunk, base_of_delta);
  lock.lock();
  for (const Digest& member : ours) fetching_.erase(member);
  lock.unlock();
  finished.set_value();
  return result;
}

// Every chunk of the run is checked against its name (SHA-256) before it
// is cached; one that does not check is not cached and is logged, and the
// next read of it asks the remote again.
Result<ChunkBytes> NodeStore::RunFetch(const FetchRun& run, const Digest& wanted,
                                       bool base_of_delta) {
  const std::string key = remote_keys::Pack(run.pack);
  const auto start = std::chrono::steady_clock::now();
  Result<std::string> bytes = options_.remote->GetRange(key, run.offset, run.length);
  remote_ns_.Observe(NanosSince(start));
  if (!bytes.ok()) {
    const std::string what = "fetching chunk " + wanted.Hex() + " from " + key + " [" +
                             std::to_string(run.offset) + ", +" + std::to_string(run.length) +
                             ") of " + options_.remote->Describe();
    Log()->error("{}: {}", what, bytes.status().message());
    return Status::IOError(what + ": " + bytes.status().message());
  }
  std::vector<std::pair<Digest, std::string>> verified;
  Result<ChunkBytes> result = Status::NotFound("chunk " + wanted.Hex() + " not in its run");
  for (const auto& [chunk, location] : run.chunks) {
    std::string value = bytes->substr(location.offset - run.offset, location.length);
    const bool wanted_one = chunk == wanted;
    Result<ChunkBytes> decoded =
        Decode(chunk, value, ChunkCheck::kFull, wanted_one && base_of_delta);
    if (!decoded.ok() && decoded.status().code() == StatusCode::kPermissionDenied) {
      // A protected model's chunk, fetched beside a wanted one, whose key
      // this node lacks: not damage, and never cached unchecked.
      Log()->debug("chunk {} from {}: {}: not cached", chunk.Hex(), key,
                   decoded.status().message());
    } else if (!decoded.ok()) {
      Log()->error("chunk {} from {} at {}: {}: damaged or substituted, not served", chunk.Hex(),
                   key, location.offset, decoded.status().message());
    }
    if (!decoded.ok()) {
      if (wanted_one)
        result = decoded.status().WithContext("chunk " + chunk.Hex() + " from " + key);
      continue;
    }
    if (wanted_one) {
      result = decoded;
    } else {
      memory_.Insert(chunk, *decoded);
    }
    verified.emplace_back(chunk, std::move(value));
  }
  RETURN_IF_ERROR(cache_->Put(verified));
  return result;
}

// The file's missing chunks, planned at once into a few ranged GETs sent
// together. Readers that want one of them meanwhile wait for its GET
// (fetching_) rather than send their own.
void NodeStore::ExpectReads(const Recipe& recipe, uint64_t from) {
  if (recipe.extents.empty()) return;
  std::shared_ptr<const NodeIndex> snapshot = index();
  const size_t first = from < recipe.size() ? recipe.ExtentAt(from) : 0;
  FetchPlanLimits limits;
  limits.max_gap_bytes = options_.fetch_gap_bytes;
  limits.max_run_bytes = options_.fetch_window_bytes;
  limits.max_plan_bytes = options_.fetch_plan_bytes;
  std::vector<FetchRun> runs = PlanFileRuns(
      *snapshot, recipe, first,
      [this](const Digest& chunk) { return memory_.Contains(chunk) || cache_->Contains(chunk); },
      limits);
  std::lock_guard lock(fetching_mutex_);
  for (FetchRun& run : runs) {
    auto finished = std::make_shared<std::promise<void>>();
    std::shared_future<void> done = finished->get_future().share();
    std::vector<Digest> ours;
    for (const auto& [member, location] : run.chunks) {
      if (fetching_.try_emplace(member, done).second) ours.push_back(member);
    }
    if (ours.empty()) continue;  // another plan or reader has them all
    planned_fetches_.Post([this, run = std::move(run), ours = std::move(ours), finished] {
      (void)RunFetch(run, Digest{}, /*base_of_delta=*/false);  // it logs what fails
      {
        std::lock_guard erase(fetching_mutex_);
        for (const Digest& member : ours) fetching_.erase(member);
      }
      finished->set_value();
    });
  }
}

Result<VerifyReport> NodeStore::Verify(const ProgressFn& progress) {
  VerifyReport report;
  std::shared_ptr<const NodeIndex> snapshot = index();
  uint64_t done = 0;
  for (const auto& [chunk, where] : snapshot->chunks) {
    ++done;
    if (progress) progress(done, snapshot->chunks.size());
    ASSIGN_OR_RETURN(auto value, cache_->Get(chunk));
    if (!value) continue;  // not cached: nothing on this node to check
    Result<ChunkBytes> decoded = Decode(chunk, *value, ChunkCheck::kFull, false);
    if (!decoded.ok() && decoded.status().code() == StatusCode::kPermissionDenied) {
      ++report.sealed_unchecked;  // its key is not on this node: kept, not judged
      continue;
    }
    ++report.chunks_checked;
    report.bytes_checked += value->size();
    if (!decoded.ok()) {
      report.damaged.push_back({chunk, decoded.status().message(), {}});
      RETURN_IF_ERROR(cache_->Drop(chunk));
    }
  }
  report.files_checked = snapshot->files.size();
  return report;
}

StoreCounters NodeStore::Counters() const {
  StoreCounters counters = fetch_counters_.Snapshot(memory_);
  const ObjectStoreCounters& remote = options_.remote->counters();
  counters.remote_requests = remote.requests.load(std::memory_order_relaxed);
  counters.remote_bytes = remote.bytes_received.load(std::memory_order_relaxed);
  counters.remote_errors = remote.errors.load(std::memory_order_relaxed);
  counters.remote_retries = remote.retries.load(std::memory_order_relaxed);
  counters.remote_fetch_seconds = remote_ns_.Snapshot();
  counters.disk_cache_bytes = cache_->bytes_held();
  counters.disk_cache_limit_bytes = cache_->max_bytes();
  return counters;
}

Result<StoreStats> NodeStore::Stats() {
  StoreStats stats;
  std::shared_ptr<const NodeIndex> snapshot = index();
  stats.models = snapshot->catalog->models().size();
  for (const ModelEntry& model : snapshot->catalog->models()) {
    stats.versions += model.versions.size();
    for (const VersionRecord& version : model.versions)
      stats.logical_bytes += version.logical_bytes;
  }
  for (const auto& [chunk, where] : snapshot->chunks) {
    stats.unique_bytes += where.location.info.raw_size;
    stats.stored_bytes += where.location.length;
  }
  stats.chunk_count = snapshot->chunks.size();
  stats.disk_bytes = cache_->Stats().disk_bytes;
  return stats;
}

}  // namespace

Result<std::unique_ptr<Store>> OpenNodeStore(NodeOptions options) {
  if (!options.remote) return Status::InvalidArgument("a node store needs a remote");
  NodeCacheOptions cache_options;
  cache_options.dir = options.cache_dir;
  cache_options.max_bytes = options.cache_max_bytes;
  ASSIGN_OR_RETURN(std::unique_ptr<NodeCache> cache, NodeCache::Open(cache_options));
  auto store = std::make_unique<NodeStore>(std::move(options), std::move(cache));
  RETURN_IF_ERROR(store->Start());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace re2po
