#include "store/base/dtype.h"

#include <array>
#include <utility>

namespace re2po {
namespace {

constexpr std::array<std::pair<DType, std::string_view>, 19> kNames = {{
    {DType::kUnknown, "unknown"}, {DType::kF64, "f64"},         {DType::kF32, "f32"},
    {DType::kF16, "f16"},         {DType::kBF16, "bf16"},       {DType::kF8, "f8"},
    {DType::kI64, "i64"},         {DType::kI32, "i32"},         {DType::kI16, "i16"},
    {DType::kI8, "i8"},           {DType::kU64, "u64"},         {DType::kU32, "u32"},
    {DType::kU16, "u16"},         {DType::kU8, "u8"},           {DType::kBool, "bool"},
    {DType::kComplex64, "c64"},   {DType::kComplex128, "c128"}, {DType::kQuantized, "quantized"},
    {DType::kString, "string"},
}};

}  // namespace

std::string_view DTypeName(DType dtype) {
  for (const auto& [value, name] : kNames) {
    if (value == dtype) return name;
  }
  return "unknown";
}

DType DTypeFromName(std::string_view name) {
  for (const auto& [value, known] : kNames) {
    if (known == name) return value;
  }
  return DType::kUnknown;
}

}  // namespace re2po
