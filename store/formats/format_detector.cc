#include "store/formats/format_detector.h"

#include <algorithm>

namespace re2po {

FileAnalysis AnalyzeFile(std::string_view file_name, ByteSpan bytes) {
  FileAnalysis analysis;
  ByteSpan head = bytes.first(std::min<size_t>(bytes.size(), 64));
  for (const FormatParser& parser : AllFormatParsers()) {
    if (!parser.sniff(file_name, head)) continue;
    Result<ParsedFile> parsed =
        parser.parse_named ? parser.parse_named(file_name, bytes) : parser.parse(bytes);
    if (parsed.ok()) {
      analysis.format = parsed->format.empty() ? std::string(parser.name) : parsed->format;
      analysis.segments = std::move(parsed->segments);
      analysis.companions = std::move(parsed->companions);
      analysis.fallback_reason.clear();
      return analysis;
    }
    if (!analysis.fallback_reason.empty()) analysis.fallback_reason += "; ";
    analysis.fallback_reason += parsed.status().message();
  }
  return analysis;
}

}  // namespace re2po
