// HDF5 files (Keras .h5 weights and full models) through libhdf5's C API on
// an in-memory file image. Contiguous, unfiltered datasets become tensor
// segments at H5Dget_offset; chunked or compressed datasets stay metadata,
// since their bytes on disk are not the tensor's bytes.
#pragma once

#include "store/formats/format.h"

namespace re2po {

// Bounds on the group walk: a file past either falls back to generic chunking.
inline constexpr uint64_t kHdf5MaxLinks = uint64_t{1} << 20;
inline constexpr int kHdf5MaxDepth = 64;

// "\x89HDF\r\n\x1a\n" at offset 0 (files with a user block are not handled).
bool LooksLikeHdf5(ByteSpan head);

// Parses `bytes` without copying them. Serialised process-wide: libhdf5 is
// built without thread safety in Debian's serial flavour.
Result<ParsedFile> ParseHdf5(ByteSpan bytes);
// The same in a forked child with memory and time limits: libhdf5 trusts
// sizes it reads from the file (see store/formats/isolated_parse.h).
Result<ParsedFile> ParseHdf5Isolated(ByteSpan bytes);

const FormatParser& Hdf5Format();

}  // namespace re2po
