#include "store/formats/wire/zip_reader.h"

#include <algorithm>
#include <string_view>

#include "store/formats/wire/le_reader.h"

namespace re2po {
namespace {

constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kEnd64Sig = 0x06064b50;
constexpr uint32_t kEnd64LocatorSig = 0x07064b50;
constexpr uint64_t kEndSize = 22;
constexpr uint64_t kCentralFixedSize = 46;
constexpr uint64_t kLocalFixedSize = 30;
constexpr uint64_t kMaxCommentSize = 0xffff;

struct Directory {
  uint64_t entry_count = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
};

Status Truncated(std::string_view what) {
  return Status::Corruption("zip: " + std::string(what) + " runs past end of file");
}

// The end record sits in the last 22 + 65535 bytes; search backwards so a
// comment that happens to contain the signature loses to the real record.
Result<uint64_t> FindEndRecord(ByteSpan bytes) {
  if (bytes.size() < kEndSize) return Status::Corruption("zip: file too small for an end record");
  const uint64_t last = bytes.size() - kEndSize;
  const uint64_t first = last > kMaxCommentSize ? last - kMaxCommentSize : 0;
  for (uint64_t pos = last + 1; pos-- > first;) {
    if (LoadLittleEndian<uint32_t>(bytes.data() + pos) != kEndSig) continue;
    const uint16_t comment = LoadLittleEndian<uint16_t>(bytes.data() + pos + 20);
    if (pos + kEndSize + comment <= bytes.size()) return pos;
  }
  return Status::Corruption("zip: no end of central directory record");
}

Status ReadZip64End(ByteSpan bytes, uint64_t end_pos, Directory& dir) {
  if (end_pos < 20) return Status::Ok();
  LeReader locator(bytes, end_pos - 20);
  uint32_t sig = 0, disk = 0, disks = 0;
  uint64_t end64 = 0;
  if (!locator.Read(sig) || sig != kEnd64LocatorSig) return Status::Ok();  // plain zip
  if (!locator.Read(disk) || !locator.Read(end64) || !locator.Read(disks)) {
    return Truncated("zip64 locator");
  }
  if (end64 > end_pos - 20) return Status::Corruption("zip: zip64 end record past its locator");
  LeReader record(bytes, end64);
  uint64_t record_size = 0, this_disk_entries = 0;
  uint32_t disk_number = 0, cd_disk = 0;
  if (!record.Read(sig) || sig != kEnd64Sig) return Status::Corruption("zip: bad zip64 end record");
  if (!record.Read(record_size) || !record.Skip(4) || !record.Read(disk_number) ||
      !record.Read(cd_disk) || !record.Read(this_disk_entries) || !record.Read(dir.entry_count) ||
      !record.Read(dir.size) || !record.Read(dir.offset)) {
    return Truncated("zip64 end record");
  }
  if (disk_number != 0 || cd_disk != 0) return Status::Unsupported("zip: multi-disk archive");
  return Status::Ok();
}

Result<Directory> ReadDirectoryLocation(ByteSpan bytes) {
  ASSIGN_OR_RETURN(const uint64_t end_pos, FindEndRecord(bytes));
  LeReader end(bytes, end_pos + 4);
  uint16_t disk = 0, cd_disk = 0, disk_entries = 0, entries = 0;
  uint32_t cd_size = 0, cd_offset = 0;
  if (!end.Read(disk) || !end.Read(cd_disk) || !end.Read(disk_entries) || !end.Read(entries) ||
      !end.Read(cd_size) || !end.Read(cd_offset)) {
    return Truncated("end record");
  }
  Directory dir{entries, cd_offset, cd_size};
  RETURN_IF_ERROR(ReadZip64End(bytes, end_pos, dir));
  if (dir.entry_count == 0xffff && dir.size == 0xffffffff) {
    return Status::Corruption("zip: zip64 markers without a zip64 end record");
  }
  if (disk != 0 && disk != 0xffff) return Status::Unsupported("zip: multi-disk archive");
  if (dir.offset > bytes.size() || dir.size > bytes.size() - dir.offset) {
    return Status::Corruption("zip: central directory lies past end of file");
  }
  // Each entry takes at least 46 bytes, which caps any count the file claims.
  if (dir.entry_count > dir.size / kCentralFixedSize) {
    return Status::Corruption("zip: central directory claims " + std::to_string(dir.entry_count) +
                              " entries in " + std::to_string(dir.size) + " bytes");
  }
  return dir;
}

// Replaces 0xffffffff sizes/offsets with their Zip64 extra-field values.
Status ApplyZip64Extra(ByteSpan extra, ZipEntry& entry, bool need_uncompressed,
                       bool need_compressed, bool need_offset) {
  LeReader reader(extra);
  while (reader.remaining() >= 4) {
    uint16_t id = 0, size = 0;
    if (!reader.Read(id) || !reader.Read(size)) break;
    if (size > reader.remaining()) return Truncated("extra field");
    if (id != 0x0001) {
      if (!reader.Skip(size)) return Truncated("extra field");
      continue;
    }
    LeReader field(extra.subspan(reader.position(), size));
    if (need_uncompressed && !field.Read(entry.uncompressed_size)) return Truncated("zip64 field");
    if (need_compressed && !field.Read(entry.compressed_size)) return Truncated("zip64 field");
    if (need_offset && !field.Read(entry.local_header_offset)) return Truncated("zip64 field");
    return Status::Ok();
  }
  if (need_uncompressed || need_compressed || need_offset) {
    return Status::Corruption("zip: entry '" + entry.name + "' lacks its zip64 extra field");
  }
  return Status::Ok();
}

Result<ZipEntry> ReadCentralEntry(ByteSpan bytes, LeReader& reader) {
  uint32_t sig = 0, crc = 0, compressed = 0, uncompressed = 0, offset = 0, attrs = 0;
  uint16_t made_by = 0, needed = 0, time = 0, date = 0, name_len = 0, extra_len = 0;
  uint16_t comment_len = 0, disk = 0, internal = 0;
  ZipEntry entry;
  if (!reader.Read(sig) || sig != kCentralSig) return Status::Corruption("zip: bad central entry");
  if (!reader.Read(made_by) || !reader.Read(needed) || !reader.Read(entry.flags) ||
      !reader.Read(entry.method) || !reader.Read(time) || !reader.Read(date) || !reader.Read(crc) ||
      !reader.Read(compressed) || !reader.Read(uncompressed) || !reader.Read(name_len) ||
      !reader.Read(extra_len) || !reader.Read(comment_len) || !reader.Read(disk) ||
      !reader.Read(internal) || !reader.Read(attrs) || !reader.Read(offset)) {
    return Truncated("central entry");
  }
  std::string_view name;
  if (!reader.ReadString(name_len, name)) return Truncated("entry name");
  entry.name = std::string(name);
  if (reader.remaining() < extra_len) return Truncated("extra field");
  const ByteSpan extra = bytes.subspan(reader.position(), extra_len);
  if (!reader.Skip(extra_len) || !reader.Skip(comment_len)) return Truncated("entry comment");
  entry.compressed_size = compressed;
  entry.uncompressed_size = uncompressed;
  entry.local_header_offset = offset;
  RETURN_IF_ERROR(ApplyZip64Extra(extra, entry, uncompressed == 0xffffffff,
                                  compressed == 0xffffffff, offset == 0xffffffff));
  return entry;
}

// The data offset comes from the local header: its extra field may differ
// from the central directory's copy.
Status LocateData(ByteSpan bytes, ZipEntry& entry) {
  LeReader local(bytes, entry.local_header_offset);
  uint32_t sig = 0;
  uint16_t name_len = 0, extra_len = 0;
  if (entry.local_header_offset > bytes.size() || !local.Read(sig) || sig != kLocalHeaderSig) {
    return Status::Corruption("zip: entry '" + entry.name + "' has no local header");
  }
  if (!local.Skip(22) || !local.Read(name_len) || !local.Read(extra_len)) {
    return Truncated("local header of '" + entry.name + "'");
  }
  const uint64_t data = entry.local_header_offset + kLocalFixedSize + name_len + extra_len;
  if (data > bytes.size() || entry.compressed_size > bytes.size() - data) {
    return Status::Corruption("zip: entry '" + entry.name + "' claims " +
                              std::to_string(entry.compressed_size) + " bytes past end of file");
  }
  entry.data_offset = data;
  return Status::Ok();
}

}  // namespace

bool LooksLikeZip(ByteSpan head) {
  return head.size() >= 4 && LoadLittleEndian<uint32_t>(head.data()) == kLocalHeaderSig;
}

Result<std::vector<ZipEntry>> ReadZipDirectory(ByteSpan bytes) {
  ASSIGN_OR_RETURN(const Directory dir, ReadDirectoryLocation(bytes));
  LeReader reader(bytes.first(dir.offset + dir.size), dir.offset);
  std::vector<ZipEntry> entries;
  entries.reserve(dir.entry_count);  // bounded by dir.size / 46 above
  for (uint64_t i = 0; i < dir.entry_count; ++i) {
    ASSIGN_OR_RETURN(ZipEntry entry, ReadCentralEntry(bytes, reader));
    RETURN_IF_ERROR(LocateData(bytes, entry));
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace re2po
