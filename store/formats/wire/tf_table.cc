#include "store/formats/wire/tf_table.h"

#include <snappy.h>

#include <string>

#include "store/formats/wire/crc32c.h"
#include "store/formats/wire/le_reader.h"

namespace re2po {
namespace {

constexpr uint64_t kBlockTrailerSize = 5;  // type byte + masked CRC32C

struct BlockHandle {
  uint64_t offset = 0;
  uint64_t size = 0;
};

// Reads a varint of at most `max_bytes` bytes from `in` at `pos`.
bool ReadVarint(std::string_view in, size_t& pos, uint64_t& value, int max_bytes) {
  value = 0;
  for (int i = 0; i < max_bytes; ++i) {
    if (pos >= in.size()) return false;
    const uint8_t byte = static_cast<uint8_t>(in[pos++]);
    value |= uint64_t{byte & 0x7fu} << (7 * i);
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

Result<BlockHandle> DecodeHandle(std::string_view in, size_t& pos) {
  BlockHandle handle;
  if (!ReadVarint(in, pos, handle.offset, 10) || !ReadVarint(in, pos, handle.size, 10)) {
    return Status::Corruption("tf table: bad block handle");
  }
  return handle;
}

class TableReader {
 public:
  TableReader(ByteSpan bytes, const TableLimits& limits) : bytes_(bytes), limits_(limits) {}

  Status Run(const TableVisitor& visit) {
    if (bytes_.size() < kTableFooterSize) return Status::Corruption("tf table: file too small");
    if (!HasTableMagic(bytes_)) return Status::Corruption("tf table: bad magic");
    const uint64_t footer = bytes_.size() - kTableFooterSize;
    const std::string_view handles(reinterpret_cast<const char*>(bytes_.data() + footer), 40);
    size_t pos = 0;
    ASSIGN_OR_RETURN(const BlockHandle metaindex, DecodeHandle(handles, pos));
    (void)metaindex;  // TensorFlow writes no filter blocks
    ASSIGN_OR_RETURN(const BlockHandle index_handle, DecodeHandle(handles, pos));
    ASSIGN_OR_RETURN(const std::string index, ReadBlock(index_handle));
    return ForEachEntry(index, [&](std::string_view, std::string_view value) -> Status {
      size_t at = 0;
      ASSIGN_OR_RETURN(const BlockHandle data_handle, DecodeHandle(value, at));
      ASSIGN_OR_RETURN(const std::string data, ReadBlock(data_handle));
      return ForEachEntry(data, visit);
    });
  }

 private:
  // Verifies the trailer CRC, then returns the (decompressed) contents.
  Result<std::string> ReadBlock(const BlockHandle& handle) {
    const uint64_t limit = bytes_.size() - kTableFooterSize;
    if (handle.offset > limit || handle.size > limit - handle.offset ||
        kBlockTrailerSize > limit - handle.offset - handle.size) {
      return Status::Corruption("tf table: block at " + std::to_string(handle.offset) + " of " +
                                std::to_string(handle.size) + " bytes runs past the footer");
    }
    const uint8_t* start = bytes_.data() + handle.offset;
    const uint8_t type = start[handle.size];
    const uint32_t stored = LoadLittleEndian<uint32_t>(start + handle.size + 1);
    if (MaskCrc32c(Crc32c(ByteSpan(start, handle.size + 1))) != stored) {
      return Status::Corruption("tf table: block at " + std::to_string(handle.offset) +
                                " fails its CRC32C");
    }
    const char* raw = reinterpret_cast<const char*>(start);
    if (type == 0) {
      if (!Charge(handle.size)) return Budget();
      return std::string(raw, handle.size);
    }
    if (type != 1)
      return Status::Unsupported("tf table: block compression type " + std::to_string(type));
    return Uncompress(raw, handle.size);
  }

  Result<std::string> Uncompress(const char* raw, uint64_t size) {
    size_t claimed = 0;
    if (!snappy::GetUncompressedLength(raw, size, &claimed)) {
      return Status::Corruption("tf table: bad Snappy header");
    }
    if (claimed > limits_.max_block_size) {
      return Status::Corruption("tf table: Snappy block claims " + std::to_string(claimed) +
                                " bytes, over the " + std::to_string(limits_.max_block_size) +
                                "-byte limit");
    }
    if (!Charge(claimed)) return Budget();
    std::string out(claimed, '\0');
    if (!snappy::RawUncompress(raw, size, out.data())) {
      return Status::Corruption("tf table: Snappy block does not decompress");
    }
    return out;
  }

  bool Charge(uint64_t size) {
    if (size > limits_.max_total_uncompressed - used_) return false;
    used_ += size;
    return true;
  }

  Status Budget() const {
    return Status::Corruption("tf table: blocks exceed " +
                              std::to_string(limits_.max_total_uncompressed) + " bytes in all");
  }

  // Block contents: prefix-compressed entries, then uint32 restarts and
  // their uint32 count. Restarts are only needed for seeking, not scanning.
  static Status ForEachEntry(std::string_view block, const TableVisitor& visit) {
    if (block.size() < 4) return Status::Corruption("tf table: block too small");
    const uint32_t restarts = LoadLittleEndian<uint32_t>(
        reinterpret_cast<const uint8_t*>(block.data()) + block.size() - 4);
    if (restarts > (block.size() - 4) / 4) {
      return Status::Corruption("tf table: block claims " + std::to_string(restarts) + " restarts");
    }
    const std::string_view entries = block.substr(0, block.size() - 4 - 4 * size_t{restarts});
    std::string key;
    size_t pos = 0;
    while (pos < entries.size()) {
      uint64_t shared = 0, unshared = 0, value_len = 0;
      if (!ReadVarint(entries, pos, shared, 5) || !ReadVarint(entries, pos, unshared, 5) ||
          !ReadVarint(entries, pos, value_len, 5) || shared > key.size() ||
          unshared > entries.size() - pos || value_len > entries.size() - pos - unshared) {
        return Status::Corruption("tf table: malformed block entry");
      }
      key.resize(shared);
      key.append(entries.substr(pos, unshared));
      pos += unshared;
      RETURN_IF_ERROR(visit(key, entries.substr(pos, value_len)));
      pos += value_len;
    }
    return Status::Ok();
  }

  ByteSpan bytes_;
  TableLimits limits_;
  uint64_t used_ = 0;
};

}  // namespace

bool HasTableMagic(ByteSpan bytes) {
  return bytes.size() >= 8 &&
         LoadLittleEndian<uint64_t>(bytes.data() + bytes.size() - 8) == kTableMagic;
}

Status ReadTable(ByteSpan bytes, const TableVisitor& visit, const TableLimits& limits) {
  return TableReader(bytes, limits).Run(visit);
}

}  // namespace re2po
