// A bounds-checked reader of a zip file's directory, for formats that are
// zips of raw tensor bytes (PyTorch checkpoints, Keras 3 archives). It never
// inflates anything: only STORED entries have data ranges worth chunking, so
// the reader reports where each entry's bytes lie and leaves the rest to the
// caller.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/base/byte_span.h"
#include "store/base/status.h"

namespace re2po {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;  // 0 stored, 8 deflated, ...
  uint16_t flags = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t local_header_offset = 0;
  // First byte of the entry's (possibly compressed) data, taken from the
  // LOCAL header's name and extra lengths, which may differ from the central
  // directory's (PyTorch pads the local extra field to align data to 64).
  uint64_t data_offset = 0;

  // Raw bytes on disk equal the entry's content: stored and not encrypted.
  bool IsStored() const {
    return method == 0 && (flags & 1) == 0 && compressed_size == uncompressed_size;
  }
  uint64_t data_end() const { return data_offset + compressed_size; }
};

// Reads the end-of-central-directory record (Zip64 aware), every central
// directory entry and each entry's local header. Fails on anything that
// points outside `bytes`, on absurd entry counts and on data ranges past EOF.
// Entries come back in central directory order.
Result<std::vector<ZipEntry>> ReadZipDirectory(ByteSpan bytes);

// "PK\3\4" at the start: a zip whose first entry is at offset 0.
bool LooksLikeZip(ByteSpan head);

}  // namespace re2po
