// Model files tests write: small, exact, built in memory.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace re2po::testing {

using NamedTensor = std::pair<std::string, std::vector<uint8_t>>;

// A minimal safetensors file: an 8-byte little-endian header length, the
// JSON header (padded to 8 bytes), then the tensors (F32, one dimension)
// back to back.
inline std::vector<uint8_t> SafetensorsFile(const std::vector<NamedTensor>& tensors) {
  std::string header = "{";
  uint64_t offset = 0;
  for (const auto& [name, data] : tensors) {
    if (header.size() > 1) header += ",";
    header += "\"" + name + "\":{\"dtype\":\"F32\",\"shape\":[" + std::to_string(data.size() / 4) +
              "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + data.size()) + "]}";
    offset += data.size();
  }
  header += "}";
  while (header.size() % 8 != 0) header += ' ';
  std::vector<uint8_t> out(8 + header.size() + offset);
  for (size_t i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(uint64_t(header.size()) >> (8 * i));
  std::memcpy(out.data() + 8, header.data(), header.size());
  uint8_t* next = out.data() + 8 + header.size();
  for (const auto& [name, data] : tensors) {
    std::memcpy(next, data.data(), data.size());
    next += data.size();
  }
  return out;
}

}  // namespace re2po::testing
