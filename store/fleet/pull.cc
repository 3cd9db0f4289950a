#include "store/fleet/pull.h"

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

namespace re2po {
namespace {

Result<const VersionRecord*> Resolve(const CatalogSnapshot& catalog, const VersionRef& ref) {
  const ModelEntry* model = catalog.FindModel(ref.model);
  const VersionRecord* record =
      model == nullptr ? nullptr : (ref.version ? model->Find(*ref.version) : model->Latest());
  if (record == nullptr) {
    return Status::NotFound("no version " + ref.model +
                            (ref.version ? "@" + std::to_string(*ref.version) : "") +
                            " on the remote");
  }
  return record;
}

// Every distinct chunk of the versions, in file order; each file's fetches
// are planned together as it is listed (Store::ExpectReads).
Result<std::vector<std::pair<Digest, uint64_t>>> ChunksOf(
    Store& store, const std::vector<const VersionRecord*>& versions) {
  std::vector<std::pair<Digest, uint64_t>> chunks;
  std::set<Digest> seen;
  for (const VersionRecord* version : versions) {
    ASSIGN_OR_RETURN(std::shared_ptr<const VersionTree> tree, store.Tree(*version));
    for (const TreeEntry& entry : tree->entries()) {
      if (entry.type != EntryType::kFile) continue;
      ASSIGN_OR_RETURN(std::shared_ptr<const Recipe> recipe, store.FileRecipe(entry.digest));
      store.ExpectReads(*recipe, 0);
      for (size_t i = 0; i < recipe->extents.size(); ++i) {
        const Extent& extent = recipe->extents[i];
        if (seen.insert(extent.chunk).second) {
          chunks.emplace_back(extent.chunk, extent.end - recipe->StartOf(i));
        }
      }
    }
  }
  return chunks;
}

}  // namespace

Result<PullSummary> Pull(Store& store, const std::vector<VersionRef>& refs, unsigned threads,
                         const ProgressFn& progress, std::stop_token stop) {
  std::shared_ptr<const CatalogSnapshot> catalog = store.Catalog();
  std::vector<const VersionRecord*> versions;
  for (const VersionRef& ref : refs) {
    ASSIGN_OR_RETURN(const VersionRecord* record, Resolve(*catalog, ref));
    versions.push_back(record);
  }
  ASSIGN_OR_RETURN(auto chunks, ChunksOf(store, versions));
  uint64_t total = 0;
  for (const auto& chunk : chunks) total += chunk.second;
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> done{0};
  std::mutex mutex;
  Status failed;
  auto worker = [&] {
    for (size_t i = next++; i < chunks.size() && !stop.stop_requested(); i = next++) {
      Status read = store.ReadChunk(chunks[i].first).status();
      std::lock_guard lock(mutex);
      if (!read.ok()) {
        if (failed.ok()) failed = read;
        next = chunks.size();
        return;
      }
      done += chunks[i].second;
      if (progress) progress(done, total);
    }
  };
  std::vector<std::jthread> workers;
  for (unsigned i = 0; i < std::max(1u, threads); ++i) workers.emplace_back(worker);
  workers.clear();
  RETURN_IF_ERROR(failed);
  if (stop.stop_requested()) return Status::Busy("stopped before every chunk was read");
  return PullSummary{versions.size(), chunks.size(), total};
}

}  // namespace re2po
