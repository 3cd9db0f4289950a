// Warming a node: every chunk of the chosen versions read once through the
// store, so the node cache holds them before a function's cold start.
#pragma once

#include <cstdint>
#include <stop_token>
#include <vector>

#include "store/base/names.h"
#include "store/base/progress.h"
#include "store/store.h"

namespace re2po {

struct PullSummary {
  uint64_t versions = 0;
  uint64_t chunks = 0;
  uint64_t bytes = 0;  // raw bytes of the chunks read
};

// `refs`: MODEL (its latest version) or MODEL@VERSION. Reads on `threads`
// threads; stops at the first chunk that cannot be had, or when `stop` is
// requested (then kBusy).
Result<PullSummary> Pull(Store& store, const std::vector<VersionRef>& refs, unsigned threads,
                         const ProgressFn& progress, std::stop_token stop = {});

}  // namespace re2po
