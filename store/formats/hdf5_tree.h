// Walks the groups of an open HDF5 file and collects its tensor segments.
// Internal to hdf5.cc; the caller holds the process-wide libhdf5 mutex.
//
// Why not H5Ovisit2: libhdf5 1.10 remembers only the objects whose header
// claims more than one link, so a file whose group links back to an
// ancestor while claiming a single link makes it recurse without end
// (HDFGroup/hdf5 #582, docs/reliability.md finding 12). This walk enters
// every object once by its address, depth first in name order, which gives
// well-formed files the same names H5Ovisit2 gave them.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <vector>

#include "store/base/status.h"
#include "store/formats/hdf5.h"
#include "store/formats/segment.h"

namespace re2po {

// Corruption for more than kHdf5MaxLinks links, groups nested deeper than
// kHdf5MaxDepth, objects libhdf5 cannot open, or datasets past end of file.
Result<std::vector<Segment>> CollectTensorSegments(hid_t file, uint64_t file_size);

}  // namespace re2po
