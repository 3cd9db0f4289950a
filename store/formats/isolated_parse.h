// Runs a parser in a forked child with a memory and time limit. For parsers
// built on libraries that are not hardened against hostile files (libhdf5
// allocates sizes it reads from the file): a bad file can only kill the
// child, and the import falls back to generic chunking.
#pragma once

#include <string_view>

#include "store/formats/format.h"

namespace re2po {

using ParseFn = Result<ParsedFile> (*)(ByteSpan bytes);

Result<ParsedFile> ParseIsolated(std::string_view what, ParseFn parse, ByteSpan bytes);

}  // namespace re2po
