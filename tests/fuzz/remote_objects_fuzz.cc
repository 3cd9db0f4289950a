// libFuzzer target for everything a node reads from a remote before it
// trusts it: version objects, catalog heads, log records, the signed
// wrapper, and the catalog state it keeps in its cache. The first byte
// picks the decoder. None may crash; what one accepts must encode back to
// bytes it accepts again, meaning the same.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "store/fleet/remote_catalog.h"
#include "store/fleet/signed_catalog.h"
#include "store/fleet/version_object.h"

namespace {

template <typename T>
void RoundTrips(const re2po::Result<T>& decoded) {
  if (!decoded.ok()) return;
  const std::string again = decoded->Encode();
  auto second = T::Decode(again);
  if (!second.ok() || second->Encode() != again) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
      RoundTrips(re2po::VersionObject::Decode(bytes));
      break;
    case 1:
      RoundTrips(re2po::CatalogHead::Decode(bytes));
      break;
    case 2:
      RoundTrips(re2po::LogRecord::Decode(bytes));
      break;
    case 3:
      (void)re2po::OpenCatalogObject(re2po::SignedKind::kHead, bytes, nullptr);
      break;
    default:
      RoundTrips(re2po::RemoteCatalogState::Decode(bytes));
      break;
  }
  return 0;
}
