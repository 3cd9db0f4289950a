// Runs the format parsers over one file: the first parser that recognises
// and parses it wins. A recognised file that fails to parse falls back to
// generic chunking with the parser's reason.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "store/formats/format.h"

namespace re2po {

struct FileAnalysis {
  std::string format = "generic";
  std::vector<Segment> segments;  // as the parser gave them (not yet normalised)
  std::vector<CompanionSegments> companions;
  std::string fallback_reason;  // set when a parser recognised the file but failed
};

FileAnalysis AnalyzeFile(std::string_view file_name, ByteSpan bytes);

}  // namespace re2po
