// TFLite models: a flatbuffer ("TFL3" identifier at bytes 4-7) whose Model
// table lists buffers. Each non-empty buffer is one segment: its data vector
// inside the flatbuffer, or an (offset, size) range after it in files over
// 2 GB. Tensors of every subgraph give buffers their names, dtypes and shapes.
#pragma once

#include <string_view>

#include "store/formats/format.h"

namespace re2po {

const FormatParser& TfliteFormat();

bool SniffTflite(std::string_view file_name, ByteSpan head);
Result<ParsedFile> ParseTflite(ByteSpan bytes);

}  // namespace re2po
