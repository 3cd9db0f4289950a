// Keras 3 `.keras` archives: a zip holding config.json, metadata.json and
// model.weights.h5. Only a STORED weights entry has tensor bytes on disk;
// its HDF5 datasets are parsed in place and shifted to file offsets.
#pragma once

#include "store/formats/format.h"

namespace re2po {

Result<ParsedFile> ParseKeras(ByteSpan bytes);

const FormatParser& KerasFormat();

}  // namespace re2po
