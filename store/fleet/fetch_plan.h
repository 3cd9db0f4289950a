// Planning a node's ranged GETs. A model file's chunks lie in several packs
// (a fine-tune's new tensors in its own pack, the backbone's in an older
// one) and, within a pack, in runs broken by other files' chunks. Fetching
// them one run at a time costs a round trip per run: ninety for a 3 MiB
// mobilenet. A plan takes the file's missing chunks at once, groups them by
// pack, merges neighbours into one range (across a gap only within a small
// budget of unwanted bytes), and the GETs are sent together, so a small
// file costs a round trip or two.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "store/base/digest.h"
#include "store/catalog/records.h"
#include "store/fleet/node_index.h"

namespace re2po {

// One ranged GET of a pack and the chunks it brings, in pack order; bytes
// between them (other files' chunks) are fetched and dropped.
struct FetchRun {
  Digest pack;
  uint64_t offset = 0;
  uint64_t length = 0;
  std::vector<std::pair<Digest, ChunkLocation>> chunks;
};

struct FetchPlanLimits {
  // Chunks further apart than this in a pack take separate GETs: below it,
  // the unwanted bytes cost less than a round trip.
  uint64_t max_gap_bytes = uint64_t{512} << 10;
  // The unwanted bytes a plan fetches, at most this share of the bytes it
  // wants: a node fetches little more than it reads (the runs are sent
  // together, so a request saved matters less than bytes on a slow link).
  double max_gap_share = 0.04;
  uint64_t max_run_bytes = uint64_t{8} << 20;
  // A plan covers at most this many stored bytes of the file.
  uint64_t max_plan_bytes = uint64_t{64} << 20;
};

// The runs that fetch the chunks of `recipe` the node lacks (`have` says
// which it has or is fetching), from extent `first` to the end and then
// from the start; ordered by where their first chunk is wanted in the file.
std::vector<FetchRun> PlanFileRuns(const NodeIndex& index, const Recipe& recipe, size_t first,
                                   const std::function<bool(const Digest&)>& have,
                                   const FetchPlanLimits& limits);

}  // namespace re2po
