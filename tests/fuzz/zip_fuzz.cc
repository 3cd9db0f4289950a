// libFuzzer target for the zip directory reader: every entry it accepts
// must have its data inside the input.
#include <cstdint>
#include <cstdlib>

#include "store/formats/wire/zip_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const re2po::ByteSpan bytes(data, size);
  auto entries = re2po::ReadZipDirectory(bytes);
  if (!entries.ok()) return 0;
  for (const re2po::ZipEntry& entry : *entries) {
    if (entry.data_offset > size || entry.compressed_size > size - entry.data_offset) abort();
  }
  return 0;
}
