#include "tools/re2po/usage_view.h"

#if __has_include("store/usage.h")
#include "store/usage.h"
#define RE2PO_HAVE_USAGE 1
#endif

namespace re2po::cli {

std::map<std::pair<std::string, uint64_t>, VersionUsageView> LoadUsage(
    const std::filesystem::path& store_dir) {
  std::map<std::pair<std::string, uint64_t>, VersionUsageView> view;
#ifdef RE2PO_HAVE_USAGE
  auto usage = ReadUsage(store_dir);
  if (!usage.ok()) return view;
  for (const auto& [key, value] : *usage) view[key] = {value.opens, value.last_access_ns};
#else
  (void)store_dir;
#endif
  return view;
}

}  // namespace re2po::cli
