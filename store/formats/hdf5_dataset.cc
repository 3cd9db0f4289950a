#include "store/formats/hdf5_dataset.h"

#include <string>
#include <vector>

namespace re2po {
namespace {

std::string OrderSuffix(hid_t type) { return H5Tget_order(type) == H5T_ORDER_BE ? "be" : "le"; }

DType IntegerDType(size_t size, bool is_signed) {
  switch (size) {
    case 1:
      return is_signed ? DType::kI8 : DType::kU8;
    case 2:
      return is_signed ? DType::kI16 : DType::kU16;
    case 4:
      return is_signed ? DType::kI32 : DType::kU32;
    case 8:
      return is_signed ? DType::kI64 : DType::kU64;
    default:
      return DType::kUnknown;
  }
}

DType FloatDType(size_t size) {
  switch (size) {
    case 2:
      return DType::kF16;
    case 4:
      return DType::kF32;
    case 8:
      return DType::kF64;
    default:
      return DType::kUnknown;
  }
}

// h5py writes complex numbers as a compound {r, i} of two equal floats.
bool IsComplex(hid_t type) {
  if (H5Tget_nmembers(type) != 2) return false;
  for (unsigned i = 0; i < 2; ++i) {
    Hid member(H5Tget_member_type(type, i), H5Tclose);
    if (!member.valid() || H5Tget_class(member.get()) != H5T_FLOAT) return false;
  }
  return true;
}

// Fills dtype and native_dtype; false for types whose stored bytes are
// references into a heap rather than values (vlen, references).
bool DescribeType(hid_t type, Segment& segment) {
  const size_t size = H5Tget_size(type);
  const std::string bits = std::to_string(size * 8);
  switch (H5Tget_class(type)) {
    case H5T_FLOAT:
      segment.dtype = FloatDType(size);
      segment.native_dtype = "float" + bits + OrderSuffix(type);
      return true;
    case H5T_INTEGER: {
      const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
      segment.dtype = IntegerDType(size, is_signed);
      segment.native_dtype = (is_signed ? "int" : "uint") + bits + OrderSuffix(type);
      return true;
    }
    case H5T_ENUM:  // h5py's bool is an int8 enum {FALSE, TRUE}
      segment.dtype = size == 1 && H5Tget_nmembers(type) == 2 ? DType::kBool : DType::kUnknown;
      segment.native_dtype = "enum" + bits;
      return true;
    case H5T_COMPOUND:
      segment.dtype = size == 8 && IsComplex(type)    ? DType::kComplex64
                      : size == 16 && IsComplex(type) ? DType::kComplex128
                                                      : DType::kUnknown;
      segment.native_dtype = "compound" + bits;
      return true;
    case H5T_STRING:
      if (H5Tis_variable_str(type) > 0) return false;
      segment.dtype = DType::kString;
      segment.native_dtype = "string" + bits;
      return true;
    case H5T_BITFIELD:
    case H5T_OPAQUE:
    case H5T_ARRAY:
      segment.native_dtype = "raw" + bits;
      return true;
    default:
      return false;
  }
}

bool IsPlainContiguous(hid_t dataset) {
  Hid dcpl(H5Dget_create_plist(dataset), H5Pclose);
  return dcpl.valid() && H5Pget_layout(dcpl.get()) == H5D_CONTIGUOUS &&
         H5Pget_nfilters(dcpl.get()) == 0 && H5Pget_external_count(dcpl.get()) == 0;
}

// Shape and element count; false for non-simple spaces or overflow.
bool ReadShape(hid_t dataset, std::vector<int64_t>& shape, uint64_t& elements) {
  Hid space(H5Dget_space(dataset), H5Sclose);
  if (!space.valid()) return false;
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0 || rank > H5S_MAX_RANK) return false;
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (rank > 0 && H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) != rank) {
    return false;
  }
  elements = 1;
  for (hsize_t dim : dims) {
    if (dim > INT64_MAX || (dim != 0 && elements > UINT64_MAX / dim)) return false;
    elements *= dim;
    shape.push_back(static_cast<int64_t>(dim));
  }
  return true;
}

}  // namespace

Result<std::optional<Segment>> DatasetSegment(hid_t dataset, const std::string& path,
                                              uint64_t file_size) {
  if (!IsPlainContiguous(dataset)) return std::optional<Segment>();
  const haddr_t offset = H5Dget_offset(dataset);
  const hsize_t size = H5Dget_storage_size(dataset);
  if (offset == HADDR_UNDEF || size == 0) return std::optional<Segment>();
  Segment segment;
  segment.kind = SegmentKind::kTensor;
  segment.name = path;
  if (offset > file_size || size > file_size - offset) {
    return Status::Corruption("hdf5: dataset '" + segment.name + "' at " + std::to_string(offset) +
                              " of " + std::to_string(size) + " bytes runs past end of file");
  }
  Hid type(H5Dget_type(dataset), H5Tclose);
  uint64_t elements = 0;
  if (!type.valid() || !DescribeType(type.get(), segment) ||
      !ReadShape(dataset, segment.shape, elements)) {
    return std::optional<Segment>();
  }
  // Contiguous storage is exactly elements * type size; anything else is a
  // layout this parser does not understand, so leave its bytes as metadata.
  const size_t type_size = H5Tget_size(type.get());
  if (type_size == 0 || elements > size / type_size || elements * type_size != size) {
    return std::optional<Segment>();
  }
  segment.offset = offset;
  segment.length = size;
  return std::optional<Segment>(std::move(segment));
}

}  // namespace re2po
