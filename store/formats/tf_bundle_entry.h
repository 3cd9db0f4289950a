// Decoders for tensor_bundle.proto's BundleHeaderProto and BundleEntryProto,
// and the tensorflow.DataType enum (types.proto).
#pragma once

#include <cstdint>
#include <string_view>

#include "store/base/dtype.h"
#include "store/formats/format.h"
#include "store/formats/tf_bundle.h"

namespace re2po {

// Returns num_shards (field 1).
Result<int32_t> DecodeBundleHeader(ByteSpan message);
// Fills every field but `name`.
Result<TfBundleEntry> DecodeBundleEntry(ByteSpan message);

DType TfDTypeToDType(int32_t tf_dtype);
std::string_view TfDTypeName(int32_t tf_dtype);  // "DT_FLOAT"; "DT_<number>" unknown -> ""

}  // namespace re2po
