#include "store/remote/curl_library.h"

#include <dlfcn.h>

#include <string>

namespace re2po {
namespace {

// The soname of libcurl4 (Debian's package for the ABI of libcurl 7 and 8).
constexpr const char* kCurlSoname = "libcurl.so.4";

template <typename Function>
void Bind(void* library, const char* symbol, Function& function, std::string& missing) {
  function = reinterpret_cast<Function>(::dlsym(library, symbol));
  if (function == nullptr) missing += missing.empty() ? symbol : std::string(", ") + symbol;
}

Result<const CurlLibrary*> Load() {
  // Never closed: handles and threads may use it until the process exits.
  void* library = ::dlopen(kCurlSoname, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* why = ::dlerror();
    return Status::Unsupported(std::string("cannot load ") + kCurlSoname +
                               " for remote requests (apt-get install libcurl4): " +
                               (why != nullptr ? why : "unknown error"));
  }
  static CurlLibrary curl;
  std::string missing;
  Bind(library, "curl_global_init", curl.global_init, missing);
  Bind(library, "curl_easy_init", curl.easy_init, missing);
  Bind(library, "curl_easy_cleanup", curl.easy_cleanup, missing);
  Bind(library, "curl_easy_reset", curl.easy_reset, missing);
  Bind(library, "curl_easy_setopt", curl.easy_setopt, missing);
  Bind(library, "curl_easy_perform", curl.easy_perform, missing);
  Bind(library, "curl_easy_getinfo", curl.easy_getinfo, missing);
  Bind(library, "curl_easy_strerror", curl.easy_strerror, missing);
  Bind(library, "curl_slist_append", curl.slist_append, missing);
  Bind(library, "curl_slist_free_all", curl.slist_free_all, missing);
  if (!missing.empty()) {
    return Status::Unsupported(std::string(kCurlSoname) + " lacks " + missing);
  }
  if (const CURLcode code = curl.global_init(CURL_GLOBAL_DEFAULT); code != CURLE_OK) {
    return Status::IOError(std::string("curl_global_init failed: ") + curl.easy_strerror(code));
  }
  return &curl;
}

}  // namespace

Result<const CurlLibrary*> LoadCurlLibrary() {
  static const Result<const CurlLibrary*> loaded = Load();
  return loaded;
}

}  // namespace re2po
