// CRC32C (Castagnoli), the checksum of LevelDB/TensorFlow table blocks and
// of TensorFlow bundle entries, plus LevelDB's "masked" form stored on disk
// (masking keeps a CRC of data that itself contains CRCs from degenerating).
#pragma once

#include <cstdint>

#include "store/base/byte_span.h"

namespace re2po {

uint32_t Crc32c(ByteSpan bytes, uint32_t crc = 0);

inline uint32_t MaskCrc32c(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

}  // namespace re2po
