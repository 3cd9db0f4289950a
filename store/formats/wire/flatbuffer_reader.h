// A minimal, bounds-checked flatbuffer reader: tables through their vtables,
// scalars, strings, vectors and vectors of tables. Every offset read from the
// file is checked against the buffer before use, so a hostile flatbuffer
// yields a Corruption instead of a wild read. Used by the TFLite parser.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/base/byte_span.h"
#include "store/base/status.h"
#include "store/formats/wire/le_reader.h"

namespace re2po {

// A vector's elements: `length` items of `element_size` bytes at `position`.
struct FlatVector {
  uint64_t position = 0;
  uint64_t length = 0;
  uint64_t element_size = 0;
};

class FlatTable {
 public:
  // The table at `position` (where its soffset to the vtable is stored).
  static Result<FlatTable> At(ByteSpan bytes, uint64_t position);
  // The root table: the uoffset stored in the first 4 bytes.
  static Result<FlatTable> Root(ByteSpan bytes);

  // A scalar field, or `fallback` when the field is absent.
  template <typename T>
  Result<T> Scalar(uint32_t field, T fallback) const {
    ASSIGN_OR_RETURN(const std::optional<uint64_t> at, FieldPosition(field, sizeof(T)));
    if (!at) return fallback;
    return LoadLittleEndian<T>(bytes_.data() + *at);
  }

  Result<std::optional<FlatVector>> Vector(uint32_t field, uint64_t element_size) const;
  Result<std::optional<std::string_view>> String(uint32_t field) const;
  // Element `index` of a vector of tables.
  Result<FlatTable> TableAt(const FlatVector& tables, uint64_t index) const;
  // Element `index` of a vector of scalars (Vector() checked it lies in the file).
  template <typename T>
  Result<T> ScalarAt(const FlatVector& scalars, uint64_t index) const {
    if (index >= scalars.length || scalars.element_size != sizeof(T)) {
      return Status::Corruption("flatbuffer: vector element " + std::to_string(index) +
                                " out of range");
    }
    return LoadLittleEndian<T>(bytes_.data() + scalars.position + sizeof(T) * index);
  }

 private:
  FlatTable(ByteSpan bytes, uint64_t position, uint64_t vtable, uint16_t vtable_size,
            uint16_t table_size)
      : bytes_(bytes),
        position_(position),
        vtable_(vtable),
        vtable_size_(vtable_size),
        table_size_(table_size) {}

  // Where field `field`'s inline value of `size` bytes is, or nullopt if absent.
  Result<std::optional<uint64_t>> FieldPosition(uint32_t field, uint64_t size) const;
  // Follows the uoffset stored at `at` to the object it points to.
  Result<uint64_t> Follow(uint64_t at) const;

  ByteSpan bytes_;
  uint64_t position_;
  uint64_t vtable_;
  uint16_t vtable_size_;
  uint16_t table_size_;
};

}  // namespace re2po
