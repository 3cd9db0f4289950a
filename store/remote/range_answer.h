// Checking a server's answer to a single-range GET before trusting it: the
// bytes handed back must be exactly the ones asked for.
#pragma once

#include <cstdint>
#include <string>

#include "store/base/status.h"
#include "store/remote/http_client.h"

namespace re2po {

// Bytes [offset, offset + length) from the answer to
// "Range: bytes=offset-(offset+length-1)":
//   206  Content-Range must be "bytes offset-last/total" with exactly
//        `length` body bytes;
//   200  a server that ignored Range sent the whole object (the body may
//        stop at offset + length, HttpRequest::max_body_bytes): the slice
//        is taken when the object holds it.
// kInvalidArgument when the object ends before the range does, kIOError
// for any other mismatch. Other statuses are the caller's to map.
Result<std::string> TakeRequestedRange(HttpResponse response, uint64_t offset, uint64_t length);

}  // namespace re2po
