#include "store/formats/keras.h"

#include "store/formats/hdf5.h"
#include "store/formats/segments.h"
#include "store/formats/wire/zip_reader.h"

namespace re2po {
namespace {

constexpr std::string_view kWeightsEntry = "model.weights.h5";

bool Sniff(std::string_view file_name, ByteSpan head) {
  return file_name.ends_with(".keras") && LooksLikeZip(head);
}

}  // namespace

Result<ParsedFile> ParseKeras(ByteSpan bytes) {
  Result<std::vector<ZipEntry>> entries = ReadZipDirectory(bytes);
  if (!entries.ok()) return entries.status().WithContext("keras");
  const ZipEntry* weights = nullptr;
  for (const ZipEntry& entry : *entries) {
    if (entry.name == kWeightsEntry) weights = &entry;
  }
  if (weights == nullptr) return Status::Corruption("keras: no model.weights.h5 entry");
  // A deflated entry has no tensor bytes on disk; say so, so the import
  // summary explains why this file was chunked generically.
  if (!weights->IsStored()) return Status::Unsupported("keras: weights entry is compressed");
  Result<ParsedFile> inner =
      ParseHdf5Isolated(bytes.subspan(weights->data_offset, weights->compressed_size));
  if (!inner.ok()) return inner.status().WithContext("keras");
  ParsedFile parsed;
  parsed.format = "keras";
  parsed.segments = std::move(inner->segments);
  for (Segment& segment : parsed.segments) segment.offset += weights->data_offset;
  ASSIGN_OR_RETURN(parsed.segments,
                   SortedDisjointSegments("keras", std::move(parsed.segments), bytes.size()));
  return parsed;
}

const FormatParser& KerasFormat() {
  static const FormatParser parser{"keras", &Sniff, &ParseKeras};
  return parser;
}

}  // namespace re2po
