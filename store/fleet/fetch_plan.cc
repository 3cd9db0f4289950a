#include "store/fleet/fetch_plan.h"

#include <algorithm>
#include <map>
#include <unordered_set>

namespace re2po {
namespace {

struct Wanted {
  Digest chunk;
  ChunkLocation location;
  size_t order = 0;  // where the file first wants it
};

// The chunks of the file the node lacks, each once, in the order the file
// wants them from `first` on, until the plan's byte bound.
std::map<Digest, std::vector<Wanted>> MissingChunksByPack(
    const NodeIndex& index, const Recipe& recipe, size_t first,
    const std::function<bool(const Digest&)>& have, uint64_t max_plan_bytes) {
  std::map<Digest, std::vector<Wanted>> by_pack;
  std::unordered_set<Digest, DigestHash> seen;
  uint64_t planned = 0;
  const size_t count = recipe.extents.size();
  for (size_t step = 0; step < count && planned < max_plan_bytes; ++step) {
    const Digest& chunk = recipe.extents[(first + step) % count].chunk;
    if (!seen.insert(chunk).second || have(chunk)) continue;
    auto found = index.chunks.find(chunk);
    if (found == index.chunks.end()) continue;  // the read reports it
    by_pack[*found->second.pack].push_back({chunk, found->second.location, step});
    planned += found->second.location.length;
  }
  return by_pack;
}

void MergeIntoRuns(const Digest& pack, std::vector<Wanted>& chunks, const FetchPlanLimits& limits,
                   std::vector<std::pair<size_t, FetchRun>>& runs) {
  std::sort(chunks.begin(), chunks.end(),
            [](const Wanted& a, const Wanted& b) { return a.location.offset < b.location.offset; });
  const size_t first_of_pack = runs.size();
  for (const Wanted& wanted : chunks) {
    const ChunkLocation& at = wanted.location;
    FetchRun* run = runs.size() > first_of_pack ? &runs.back().second : nullptr;
    const bool joins = run != nullptr && at.offset >= run->offset + run->length &&
                       at.offset - (run->offset + run->length) <= limits.max_gap_bytes &&
                       at.offset + at.length - run->offset <= limits.max_run_bytes;
    if (joins) {
      run->length = at.offset + at.length - run->offset;
      run->chunks.emplace_back(wanted.chunk, at);
      runs.back().first = std::min(runs.back().first, wanted.order);
      continue;
    }
    runs.push_back({wanted.order, FetchRun{pack, at.offset, at.length, {{wanted.chunk, at}}}});
  }
}

}  // namespace

std::vector<FetchRun> PlanFileRuns(const NodeIndex& index, const Recipe& recipe, size_t first,
                                   const std::function<bool(const Digest&)>& have,
                                   const FetchPlanLimits& limits) {
  std::map<Digest, std::vector<Wanted>> by_pack =
      MissingChunksByPack(index, recipe, first, have, limits.max_plan_bytes);
  std::vector<std::pair<size_t, FetchRun>> ordered;
  for (auto& [pack, chunks] : by_pack) MergeIntoRuns(pack, chunks, limits, ordered);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<FetchRun> runs;
  runs.reserve(ordered.size());
  for (auto& [order, run] : ordered) runs.push_back(std::move(run));
  return runs;
}

}  // namespace re2po
