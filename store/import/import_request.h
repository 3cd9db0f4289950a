// What an import is asked to do, and what it reports back.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/base/progress.h"
#include "store/catalog/records.h"
#include "store/chunks/codec.h"

namespace re2po {

struct ImportRequest {
  std::string model;
  std::optional<uint64_t> version;  // latest + 1 when absent
  std::filesystem::path source;     // a file or a directory
  std::map<std::string, std::string> labels;
  // The version this one was derived from (fine-tuned, converted), recorded
  // in its provenance; must be in the store. Version unset: the latest.
  std::optional<std::string> from_model;
  std::optional<uint64_t> from_version;
  bool format_aware = true;  // false: generic content-defined chunking only
  // Store changed tensors as differences from the last stored tensor of the
  // same name, type and shape when that is smaller (store/import/delta_bases.h).
  bool delta = true;
  CodecOptions codec;
  // A protected import: every chunk sealed by this key (codec 4), chunks and
  // files named by it, deltas only against chunks it sealed.
  std::shared_ptr<const SealingKey> protect;
  ProgressFn progress;
};

struct FileImportInfo {
  std::string path;
  std::string format;
  std::string fallback_reason;
  uint64_t size = 0;
  uint64_t tensors = 0;
};

struct ImportSummary {
  VersionRecord version;
  uint64_t new_raw_bytes = 0;  // uncompressed bytes of chunks this import added
  uint64_t chunks = 0;
  uint64_t new_chunks = 0;
  uint64_t delta_chunks = 0;     // new chunks stored as differences from earlier ones
  uint64_t delta_raw_bytes = 0;  // their uncompressed bytes
  uint64_t derived_chunks = 0;   // of those, predicted from another dtype's tensor
  uint64_t derived_raw_bytes = 0;
  std::map<std::string, uint64_t> files_per_format;
  std::vector<FileImportInfo> files;
  std::vector<std::string> warnings;  // skipped specials, hard links, ...
  double seconds = 0;
};

}  // namespace re2po
