// safetensors: u64 little-endian header length N, N bytes of JSON mapping
// tensor names to {dtype, shape, data_offsets}, then the data section.
// Offsets are relative to byte 8 + N and may be in any order.
#pragma once

#include <string_view>

#include "store/formats/format.h"

namespace re2po {

const FormatParser& SafetensorsFormat();

bool SniffSafetensors(std::string_view file_name, ByteSpan head);
Result<ParsedFile> ParseSafetensors(ByteSpan bytes);

}  // namespace re2po
