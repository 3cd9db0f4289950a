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
  // Whether the next chunk of the pack (in offset order) joins its GET.
  bool joins_next = false;

  uint64_t end() const { return location.offset + location.length; }
};

using PackChunks = std::map<Digest, std::vector<Wanted>>;

// The chunks of the file the node lacks, each once, in the order the file
// wants them from `first` on, until the plan's byte bound; then sorted by
// offset within each pack.
PackChunks MissingChunksByPack(const NodeIndex& index, const Recipe& recipe, size_t first,
                               const std::function<bool(const Digest&)>& have,
                               uint64_t max_plan_bytes, uint64_t& planned) {
  PackChunks by_pack;
  std::unordered_set<Digest, DigestHash> seen;
  const size_t count = recipe.extents.size();
  for (size_t step = 0; step < count && planned < max_plan_bytes; ++step) {
    const Digest& chunk = recipe.extents[(first + step) % count].chunk;
    if (!seen.insert(chunk).second || have(chunk)) continue;
    auto found = index.chunks.find(chunk);
    if (found == index.chunks.end()) continue;  // the read reports it
    by_pack[*found->second.pack].push_back({chunk, found->second.location, step});
    planned += found->second.location.length;
  }
  for (auto& [pack, chunks] : by_pack) {
    std::sort(chunks.begin(), chunks.end(), [](const Wanted& a, const Wanted& b) {
      return a.location.offset < b.location.offset;
    });
  }
  return by_pack;
}

// Neighbours with nothing between them always share a GET; across a gap
// only while the unwanted bytes stay within the plan's share, smallest
// gaps first: they save a request for the fewest bytes.
void ChooseJoins(PackChunks& by_pack, uint64_t planned, const FetchPlanLimits& limits) {
  struct Gap {
    uint64_t bytes;
    Wanted* before;
  };
  std::vector<Gap> gaps;
  for (auto& [pack, chunks] : by_pack) {
    for (size_t i = 0; i + 1 < chunks.size(); ++i) {
      const uint64_t end = chunks[i].end();
      const uint64_t next = chunks[i + 1].location.offset;
      if (next < end) continue;  // overlapping locations: never merged
      if (next == end) {
        chunks[i].joins_next = true;
      } else if (next - end <= limits.max_gap_bytes) {
        gaps.push_back({next - end, &chunks[i]});
      }
    }
  }
  std::sort(gaps.begin(), gaps.end(), [](const Gap& a, const Gap& b) { return a.bytes < b.bytes; });
  auto budget = static_cast<uint64_t>(static_cast<double>(planned) * limits.max_gap_share);
  for (const Gap& gap : gaps) {
    if (gap.bytes > budget) break;
    budget -= gap.bytes;
    gap.before->joins_next = true;
  }
}

void AppendRuns(const Digest& pack, const std::vector<Wanted>& chunks,
                const FetchPlanLimits& limits, std::vector<std::pair<size_t, FetchRun>>& runs) {
  bool open = false;
  for (size_t i = 0; i < chunks.size(); ++i) {
    const Wanted& wanted = chunks[i];
    FetchRun* run = open ? &runs.back().second : nullptr;
    if (run != nullptr && wanted.end() - run->offset <= limits.max_run_bytes) {
      run->length = wanted.end() - run->offset;
      run->chunks.emplace_back(wanted.chunk, wanted.location);
      runs.back().first = std::min(runs.back().first, wanted.order);
    } else {
      runs.push_back({wanted.order, FetchRun{pack,
                                             wanted.location.offset,
                                             wanted.location.length,
                                             {{wanted.chunk, wanted.location}}}});
    }
    open = wanted.joins_next;
  }
}

}  // namespace

std::vector<FetchRun> PlanFileRuns(const NodeIndex& index, const Recipe& recipe, size_t first,
                                   const std::function<bool(const Digest&)>& have,
                                   const FetchPlanLimits& limits) {
  uint64_t planned = 0;
  PackChunks by_pack =
      MissingChunksByPack(index, recipe, first, have, limits.max_plan_bytes, planned);
  ChooseJoins(by_pack, planned, limits);
  std::vector<std::pair<size_t, FetchRun>> ordered;
  for (const auto& [pack, chunks] : by_pack) AppendRuns(pack, chunks, limits, ordered);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<FetchRun> runs;
  runs.reserve(ordered.size());
  for (auto& [order, run] : ordered) runs.push_back(std::move(run));
  return runs;
}

}  // namespace re2po
