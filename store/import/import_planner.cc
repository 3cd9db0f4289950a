#include "store/import/import_planner.h"

#include <map>

#include "store/formats/format_detector.h"
#include "store/formats/segments.h"
#include "store/import/source_tree.h"

namespace re2po {
namespace {

struct CompanionInfo {
  std::string format;  // of the file that described it
  std::vector<Segment> segments;
};

std::string DirectoryOf(const std::string& relative) {
  size_t slash = relative.rfind('/');
  return slash == std::string::npos ? "" : relative.substr(0, slash);
}

// "dir" + "x/../y.data" -> "dir/y.data"; empty if it escapes the tree.
std::string ResolveRelative(const std::string& dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || !SymlinkStaysInside(dir, path)) return "";
  std::vector<std::string> parts;
  for (const std::string& piece : {dir, path}) {
    size_t start = 0;
    while (start <= piece.size()) {
      size_t slash = piece.find('/', start);
      std::string part = piece.substr(start, slash - start);
      if (part == "..") {
        if (!parts.empty()) parts.pop_back();
      } else if (!part.empty() && part != ".") {
        parts.push_back(part);
      }
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
  }
  std::string joined;
  for (const auto& part : parts) joined += (joined.empty() ? "" : "/") + part;
  return joined;
}

void ApplySegments(FilePlan& plan, std::vector<Segment> segments, const std::string& format) {
  auto normalized = NormalizeSegments(std::move(segments), plan.mapped->size());
  if (normalized.ok()) {
    plan.format = format;
    plan.segments = std::move(normalized).value();
    return;
  }
  plan.format = "generic";
  plan.fallback_reason = format + ": " + normalized.status().message();
  plan.segments = WholeFileSegment(plan.mapped->size());
}

}  // namespace

Result<std::vector<FilePlan>> PlanFiles(const SourceTree& tree, bool format_aware) {
  std::vector<FilePlan> plans(tree.files.size());
  std::map<std::string, CompanionInfo> companions;
  std::vector<FileAnalysis> analyses(tree.files.size());
  for (size_t i = 0; i < tree.files.size(); ++i) {
    plans[i].source = &tree.files[i];
    ASSIGN_OR_RETURN(plans[i].mapped, MappedFile::Open(tree.files[i].absolute));
    if (!format_aware) continue;
    const std::string& relative = tree.files[i].relative;
    std::string name = relative.substr(relative.rfind('/') + 1);
    analyses[i] = AnalyzeFile(name, plans[i].mapped->bytes());
    for (CompanionSegments& companion : analyses[i].companions) {
      std::string target = ResolveRelative(DirectoryOf(relative), companion.relative_path);
      if (target.empty()) continue;  // never follow a reference out of the tree
      CompanionInfo& info = companions[target];
      info.format = analyses[i].format + "-data";
      for (Segment& segment : companion.segments) info.segments.push_back(std::move(segment));
    }
  }
  for (size_t i = 0; i < plans.size(); ++i) {
    FilePlan& plan = plans[i];
    if (format_aware && analyses[i].format != "generic") {
      ApplySegments(plan, std::move(analyses[i].segments), analyses[i].format);
    } else if (auto it = companions.find(plan.source->relative); it != companions.end()) {
      ApplySegments(plan, std::move(it->second.segments), it->second.format);
    } else {
      plan.fallback_reason = analyses[i].fallback_reason;
      plan.segments = WholeFileSegment(plan.mapped->size());
    }
  }
  return plans;
}

}  // namespace re2po
