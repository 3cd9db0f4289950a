#include "store/chunks/codec_planes.h"

#include <array>
#include <cstring>
#include <vector>

#include "store/base/coding.h"
#include "store/chunks/byte_planes.h"

namespace re2po {
namespace {

constexpr size_t kMaxWidth = 8;
enum class PlaneCodec : uint8_t { kRaw = 0, kZstd = 1 };

// Per-thread buffers: a fresh megabyte per chunk costs page faults.
std::vector<uint8_t>& PlaneBuffer(size_t size) {
  thread_local std::vector<uint8_t> buffer;
  if (buffer.size() < size) buffer.resize(size);
  return buffer;
}

}  // namespace

bool AppendBytePlanes(std::span<const uint8_t> raw, size_t width, const CodecOptions& options,
                      std::string& out) {
  const size_t plane_size = raw.size() / width;
  const size_t tail = raw.size() % width;
  std::vector<uint8_t>& split = PlaneBuffer(width * plane_size);
  std::array<uint8_t*, kMaxWidth> planes{};
  for (size_t k = 0; k < width; ++k) planes[k] = split.data() + k * plane_size;
  SplitBytePlanes(raw.first(width * plane_size), width, planes.data(), plane_size);

  thread_local std::string body;
  body.clear();
  std::string table(1, static_cast<char>(width));
  for (size_t k = 0; k < width; ++k) {
    std::span<const uint8_t> plane(planes[k], plane_size);
    if (std::optional<size_t> size = CompressInto(plane, options, body)) {
      table.push_back(static_cast<char>(PlaneCodec::kZstd));
      PutVarint(table, *size);
    } else {
      table.push_back(static_cast<char>(PlaneCodec::kRaw));
      PutVarint(table, plane_size);
      body.append(reinterpret_cast<const char*>(plane.data()), plane_size);
    }
  }
  const double total = static_cast<double>(table.size() + body.size() + tail);
  if (total > static_cast<double>(raw.size()) * (1.0 - options.min_saving)) return false;
  out.append(table).append(body);
  out.append(reinterpret_cast<const char*>(raw.data()) + width * plane_size, tail);
  return true;
}

Status DecodeBytePlanes(std::string_view payload, std::span<uint8_t> out) {
  Decoder decoder(payload, "byte-plane chunk");
  uint8_t width = 0;
  RETURN_IF_ERROR(decoder.GetByte(width));
  if (!HasBytePlanes(width)) {
    return Status::Corruption("byte-plane chunk of width " + std::to_string(width));
  }
  const size_t plane_size = out.size() / width;
  const size_t tail = out.size() % width;
  std::array<PlaneCodec, kMaxWidth> codecs{};
  std::array<uint64_t, kMaxWidth> lengths{};
  uint64_t body = 0;
  for (size_t k = 0; k < width; ++k) {
    uint8_t codec = 0;
    RETURN_IF_ERROR(decoder.GetByte(codec));
    RETURN_IF_ERROR(decoder.GetVarint(lengths[k]));
    codecs[k] = static_cast<PlaneCodec>(codec);
    if (codec > 1 || (codecs[k] == PlaneCodec::kRaw && lengths[k] != plane_size) ||
        lengths[k] > payload.size()) {
      return Status::Corruption("byte-plane chunk has a bad plane table");
    }
    body += lengths[k];
  }
  std::string_view rest = payload.substr(payload.size() - decoder.remaining());
  if (body + tail != rest.size()) {
    return Status::Corruption("byte-plane chunk holds " + std::to_string(rest.size()) +
                              " bytes, its table " + std::to_string(body + tail));
  }
  std::vector<uint8_t>& decoded = PlaneBuffer(width * plane_size);
  std::array<const uint8_t*, kMaxWidth> planes{};
  for (size_t k = 0; k < width; ++k) {
    std::string_view stored = rest.substr(0, lengths[k]);
    rest.remove_prefix(lengths[k]);
    if (codecs[k] == PlaneCodec::kRaw) {
      planes[k] = reinterpret_cast<const uint8_t*>(stored.data());
      continue;
    }
    std::span<uint8_t> plane(decoded.data() + k * plane_size, plane_size);
    RETURN_IF_ERROR(DecompressZstd(stored, plane));
    planes[k] = plane.data();
  }
  JoinBytePlanes(planes.data(), width, plane_size, out.first(width * plane_size));
  if (tail != 0) std::memcpy(out.data() + width * plane_size, rest.data(), tail);
  return Status::Ok();
}

}  // namespace re2po
