// The pre-zip torch.save stream (torch < 1.6, or
// _use_new_zipfile_serialization=False):
//   magic pickle (LONG 0x1950a86a20f9469cfc6c), protocol pickle (1001),
//   sys_info pickle (dict), object pickle, pickled list of storage keys,
//   then for each key in that order: int64 numel + numel * itemsize bytes.
// The storages are unaligned and packed; their types come from the object
// pickle's persistent ids, so that pickle must be understood here (unlike in
// the zip format, where entry sizes are known without it).
#include <array>
#include <cstring>

#include "store/formats/pytorch.h"
#include "store/formats/segments.h"
#include "store/formats/torch_pickle.h"
#include "store/formats/wire/le_reader.h"

namespace re2po {
namespace {

using Kind = PickleValue::Kind;

// PROTO 2, LONG1 of 10 bytes, then the magic number itself.
constexpr std::array<uint8_t, 14> kMagicPrefix = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c,
                                                  0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
constexpr int64_t kLegacyProtocol = 1001;

Status CheckHeader(const Pickle& magic, const Pickle& protocol, const Pickle& sys_info) {
  (void)magic;  // its bytes were matched by LooksLikePytorchLegacy
  const PickleValue& version = protocol.at(protocol.root);
  if (version.kind != Kind::kInt || version.integer != kLegacyProtocol) {
    return Status::Unsupported("pytorch: legacy protocol version is not 1001");
  }
  const PickleValue& info = sys_info.at(sys_info.root);
  for (size_t i = 0; i + 1 < info.entries.size(); i += 2) {
    const PickleValue& key = sys_info.at(info.entries[i]);
    const PickleValue& value = sys_info.at(info.entries[i + 1]);
    if (key.kind == Kind::kString && key.text == "little_endian" && value.kind == Kind::kBool &&
        value.integer == 0) {
      return Status::Unsupported("pytorch: big-endian legacy checkpoint");
    }
  }
  return Status::Ok();
}

Result<std::vector<std::string>> StorageKeys(const Pickle& keys) {
  const PickleValue& list = keys.at(keys.root);
  if (list.kind != Kind::kList) return Status::Corruption("pytorch: storage key list is no list");
  std::vector<std::string> out;
  out.reserve(list.items.size());  // bounded by the pickle's length
  for (uint32_t item : list.items) {
    if (keys.at(item).kind != Kind::kString) {
      return Status::Corruption("pytorch: storage key is not a string");
    }
    out.push_back(keys.at(item).text);
  }
  return out;
}

Result<Segment> ReadStorage(LeReader& reader, const std::string& key,
                            const TorchStorageMap& storages) {
  auto it = storages.find(key);
  if (it == storages.end() || it->second.type.itemsize == 0) {
    return Status::Corruption("pytorch: storage '" + key + "' has no known type in the pickle");
  }
  const TorchStorageInfo& info = it->second;
  int64_t numel = 0;
  if (!reader.Read(numel) || numel < 0) {
    return Status::Corruption("pytorch: storage '" + key + "' header is truncated or negative");
  }
  const uint64_t itemsize = info.type.itemsize;
  if (static_cast<uint64_t>(numel) > reader.remaining() / itemsize) {
    return Status::Corruption("pytorch: storage '" + key + "' claims " + std::to_string(numel) +
                              " elements past end of file");
  }
  Segment segment;
  segment.offset = reader.position();
  segment.length = static_cast<uint64_t>(numel) * itemsize;
  segment.kind = SegmentKind::kTensor;
  segment.name = info.tensor_name.empty() ? "data/" + key : info.tensor_name;
  segment.dtype = info.type.dtype;
  segment.native_dtype = info.storage_type;
  segment.shape = info.shape.empty() ? std::vector<int64_t>{numel} : info.shape;
  if (!reader.Skip(segment.length)) return Status::Corruption("pytorch: storage past EOF");
  return segment;
}

}  // namespace

bool LooksLikePytorchLegacy(ByteSpan head) {
  return head.size() >= kMagicPrefix.size() &&
         std::memcmp(head.data(), kMagicPrefix.data(), kMagicPrefix.size()) == 0;
}

Result<ParsedFile> ParsePytorchLegacy(ByteSpan bytes) {
  if (!LooksLikePytorchLegacy(bytes)) return Status::Corruption("pytorch: bad legacy magic");
  std::array<Pickle, 5> pickles;
  uint64_t offset = 0;
  for (Pickle& pickle : pickles) {
    Result<Pickle> read = ReadPickle(bytes, offset);
    if (!read.ok()) return read.status().WithContext("pytorch legacy");
    pickle = std::move(read).value();
    offset = pickle.end;
  }
  RETURN_IF_ERROR(CheckHeader(pickles[0], pickles[1], pickles[2]));
  Result<TorchStorageMap> storages = CollectTorchStorages(pickles[3]);
  if (!storages.ok()) return storages.status().WithContext("pytorch legacy");
  ASSIGN_OR_RETURN(const std::vector<std::string> keys, StorageKeys(pickles[4]));
  ParsedFile parsed;
  parsed.format = "pytorch-legacy";
  LeReader reader(bytes, offset);
  for (const std::string& key : keys) {
    ASSIGN_OR_RETURN(Segment segment, ReadStorage(reader, key, *storages));
    if (segment.length > 0) parsed.segments.push_back(std::move(segment));
  }
  ASSIGN_OR_RETURN(parsed.segments,
                   SortedDisjointSegments("pytorch", std::move(parsed.segments), bytes.size()));
  return parsed;
}

}  // namespace re2po
