// libcurl, loaded with dlopen by the first HTTP client rather than linked:
// its shared library and the two dozen it pulls in (GnuTLS, Kerberos, LDAP,
// SSH, ...) took ~8 ms of every re2po process start, and most commands and
// mounts never talk to a remote (docs/performance.md, "Process start").
#pragma once

#include <curl/curl.h>

#include "store/base/status.h"

namespace re2po {

// The libcurl functions the HTTP client calls, with their C signatures.
struct CurlLibrary {
  CURLcode (*global_init)(long flags) = nullptr;
  CURL* (*easy_init)() = nullptr;
  void (*easy_cleanup)(CURL* handle) = nullptr;
  void (*easy_reset)(CURL* handle) = nullptr;
  CURLcode (*easy_setopt)(CURL* handle, CURLoption option, ...) = nullptr;
  CURLcode (*easy_perform)(CURL* handle) = nullptr;
  CURLcode (*easy_getinfo)(CURL* handle, CURLINFO info, ...) = nullptr;
  const char* (*easy_strerror)(CURLcode code) = nullptr;
  curl_slist* (*slist_append)(curl_slist* list, const char* line) = nullptr;
  void (*slist_free_all)(curl_slist* list) = nullptr;
};

// Loads libcurl.so.4 and curl_global_init()s it, once per process (thread
// safe); later calls return the same library, or the same error, which
// says what is missing.
Result<const CurlLibrary*> LoadCurlLibrary();

}  // namespace re2po
