#include "store/catalog/records.h"

#include <algorithm>

#include "store/base/coding.h"

namespace re2po {
namespace {

constexpr uint8_t kVersionRecordFormat = 1;
constexpr uint8_t kTreeFormat = 1;

// Bits of the access block's flags varint.
constexpr uint64_t kHasUid = 1;
constexpr uint64_t kHasGid = 2;
constexpr uint64_t kHasMode = 4;
constexpr uint64_t kHidden = 8;
constexpr uint64_t kKnownAccessFlags = kHasUid | kHasGid | kHasMode | kHidden;

Status GetUint32(Decoder& decoder, std::optional<uint32_t>& value) {
  uint64_t wide = 0;
  RETURN_IF_ERROR(decoder.GetVarint(wide));
  if (wide > UINT32_MAX) return Status::Corruption("model access field out of range");
  value = static_cast<uint32_t>(wide);
  return Status::Ok();
}

constexpr uint8_t kProvenanceFormat = 1;
constexpr uint8_t kProtectionFormat = 1;
constexpr uint8_t kSignatureFormat = 1;

void EncodeProvenance(const VersionProvenance& provenance, std::string& out) {
  out.push_back(static_cast<char>(kProvenanceFormat));
  PutLengthPrefixed(out, provenance.user);
  PutLengthPrefixed(out, provenance.host);
  PutLengthPrefixed(out, provenance.tool);
  out.push_back(provenance.parent ? 1 : 0);
  if (provenance.parent) {
    PutLengthPrefixed(out, provenance.parent->model);
    PutVarint(out, provenance.parent->version);
    out.append(provenance.parent->digest.view());
  }
  PutVarint(out, provenance.delta_base_files.size());
  for (const Digest& file : provenance.delta_base_files) out.append(file.view());
}

Status DecodeProvenance(Decoder& decoder, VersionProvenance& provenance) {
  uint8_t format = 0;
  uint8_t has_parent = 0;
  uint64_t count = 0;
  RETURN_IF_ERROR(decoder.GetByte(format));
  if (format != kProvenanceFormat) {
    return Status::Unsupported("version provenance format " + std::to_string(format));
  }
  RETURN_IF_ERROR(decoder.GetString(provenance.user));
  RETURN_IF_ERROR(decoder.GetString(provenance.host));
  RETURN_IF_ERROR(decoder.GetString(provenance.tool));
  RETURN_IF_ERROR(decoder.GetByte(has_parent));
  if (has_parent > 1) return Status::Corruption("version provenance parent flag");
  if (has_parent == 1) {
    VersionParent parent;
    RETURN_IF_ERROR(decoder.GetString(parent.model));
    RETURN_IF_ERROR(decoder.GetVarint(parent.version));
    RETURN_IF_ERROR(decoder.GetDigest(parent.digest));
    provenance.parent = std::move(parent);
  }
  RETURN_IF_ERROR(decoder.GetCount(32, count));
  provenance.delta_base_files.resize(count);
  for (Digest& file : provenance.delta_base_files) RETURN_IF_ERROR(decoder.GetDigest(file));
  return Status::Ok();
}

constexpr size_t kKeyIdBytes = 16;

void EncodeProtection(const VersionProtection& protection, std::string& out) {
  out.push_back(static_cast<char>(kProtectionFormat));
  PutLengthPrefixed(out, protection.key_name);
  out.append(protection.key_id);
}

Status DecodeProtection(Decoder& decoder, std::optional<VersionProtection>& protection) {
  uint8_t format = 0;
  std::string_view key_id;
  VersionProtection decoded;
  RETURN_IF_ERROR(decoder.GetByte(format));
  if (format != kProtectionFormat) {
    return Status::Unsupported("version protection format " + std::to_string(format));
  }
  RETURN_IF_ERROR(decoder.GetString(decoded.key_name));
  RETURN_IF_ERROR(decoder.GetBytes(kKeyIdBytes, key_id));
  decoded.key_id = std::string(key_id);
  protection = std::move(decoded);
  return Status::Ok();
}

}  // namespace

void ModelAccess::EncodeTo(std::string& out) const {
  const uint64_t flags =
      (uid ? kHasUid : 0) | (gid ? kHasGid : 0) | (mode ? kHasMode : 0) | (hidden ? kHidden : 0);
  PutVarint(out, flags);
  if (uid) PutVarint(out, *uid);
  if (gid) PutVarint(out, *gid);
  if (mode) PutVarint(out, *mode);
}

Result<ModelAccess> ModelAccess::DecodeFrom(Decoder& decoder) {
  ModelAccess access;
  uint64_t flags = 0;
  RETURN_IF_ERROR(decoder.GetVarint(flags));
  // A newer writer's restriction this reader cannot apply: refuse, never ignore.
  if ((flags & ~kKnownAccessFlags) != 0) {
    return Status::Unsupported("model access flags " + std::to_string(flags));
  }
  if (flags & kHasUid) RETURN_IF_ERROR(GetUint32(decoder, access.uid));
  if (flags & kHasGid) RETURN_IF_ERROR(GetUint32(decoder, access.gid));
  if (flags & kHasMode) RETURN_IF_ERROR(GetUint32(decoder, access.mode));
  if (access.mode && (*access.mode & ~0777u) != 0) {
    return Status::Corruption("model access mode out of range");
  }
  access.hidden = (flags & kHidden) != 0;
  return access;
}

std::string VersionRecord::Encode() const {
  std::string out;
  out.push_back(static_cast<char>(kVersionRecordFormat));
  PutVarint(out, seq);
  PutVarint(out, ZigZag(created_ns));
  PutLengthPrefixed(out, source_path);
  PutVarint(out, labels.size());
  for (const auto& [key, value] : labels) {
    PutLengthPrefixed(out, key);
    PutLengthPrefixed(out, value);
  }
  PutVarint(out, logical_bytes);
  PutVarint(out, new_bytes);
  PutVarint(out, file_count);
  out.append(digest.view());
  // Protection follows provenance, so a protected record carries both.
  if (!provenance.empty() || protection) EncodeProvenance(provenance, out);
  if (protection) EncodeProtection(*protection, out);
  return out;
}

std::string VersionRecord::SignedBytes() const {
  VersionRecord portable = *this;
  portable.seq = 0;
  portable.new_bytes = 0;
  std::string out;
  PutLengthPrefixed(out, model);
  PutVarint(out, version);
  out.append(portable.Encode());
  return out;
}

std::string VersionSignature::Encode() const {
  std::string out;
  out.push_back(static_cast<char>(kSignatureFormat));
  PutLengthPrefixed(out, public_key);
  PutLengthPrefixed(out, signature);
  PutVarint(out, ZigZag(signed_ns));
  return out;
}

Result<VersionSignature> VersionSignature::Decode(std::string_view bytes) {
  Decoder decoder(bytes, "version signature");
  uint8_t format = 0;
  uint64_t signed_at = 0;
  VersionSignature out;
  RETURN_IF_ERROR(decoder.GetByte(format));
  if (format != kSignatureFormat) {
    return Status::Unsupported("version signature format " + std::to_string(format));
  }
  RETURN_IF_ERROR(decoder.GetString(out.public_key));
  RETURN_IF_ERROR(decoder.GetString(out.signature));
  RETURN_IF_ERROR(decoder.GetVarint(signed_at));
  out.signed_ns = UnZigZag(signed_at);
  if (out.public_key.size() != 32 || out.signature.size() != 64) {
    return Status::Corruption("version signature of the wrong size");
  }
  return out;
}

std::string VersionSigningMessage(const VersionRecord& record) {
  return "re2po version signature v1\n" + record.SignedBytes();
}

std::string VersionId(const Digest& digest) { return "re2po:sha256:" + digest.Hex(); }

std::string ShortVersionId(const Digest& digest) { return digest.ShortHex(); }

Result<VersionRecord> VersionRecord::Decode(std::string_view model, uint64_t version,
                                            std::string_view bytes) {
  Decoder decoder(bytes, "version");
  VersionRecord record;
  record.model = std::string(model);
  record.version = version;
  uint8_t format = 0;
  RETURN_IF_ERROR(decoder.GetByte(format));
  if (format != kVersionRecordFormat) {
    return Status::Unsupported("version record format " + std::to_string(format));
  }
  uint64_t created = 0;
  uint64_t label_count = 0;
  RETURN_IF_ERROR(decoder.GetVarint(record.seq));
  RETURN_IF_ERROR(decoder.GetVarint(created));
  record.created_ns = UnZigZag(created);
  RETURN_IF_ERROR(decoder.GetString(record.source_path));
  RETURN_IF_ERROR(decoder.GetVarint(label_count));
  for (uint64_t i = 0; i < label_count; ++i) {
    std::string key;
    std::string value;
    RETURN_IF_ERROR(decoder.GetString(key));
    RETURN_IF_ERROR(decoder.GetString(value));
    record.labels.emplace(std::move(key), std::move(value));
  }
  RETURN_IF_ERROR(decoder.GetVarint(record.logical_bytes));
  RETURN_IF_ERROR(decoder.GetVarint(record.new_bytes));
  RETURN_IF_ERROR(decoder.GetVarint(record.file_count));
  RETURN_IF_ERROR(decoder.GetDigest(record.digest));
  // Appended, so readers from before provenance read these records too.
  if (!decoder.done()) RETURN_IF_ERROR(DecodeProvenance(decoder, record.provenance));
  if (!decoder.done()) RETURN_IF_ERROR(DecodeProtection(decoder, record.protection));
  if (!decoder.done()) return Status::Corruption("version record has trailing bytes");
  return record;
}

VersionTree::VersionTree(std::vector<TreeEntry> entries) : entries_(std::move(entries)) {
  for (uint32_t i = 1; i < entries_.size(); ++i) {
    entries_[entries_[i].parent].children.push_back(i);
  }
  for (TreeEntry& entry : entries_) {
    std::sort(entry.children.begin(), entry.children.end(),
              [this](uint32_t a, uint32_t b) { return entries_[a].name < entries_[b].name; });
  }
}

std::optional<uint32_t> VersionTree::Child(uint32_t directory, std::string_view name) const {
  if (directory >= entries_.size()) return std::nullopt;
  const auto& children = entries_[directory].children;
  auto it = std::lower_bound(
      children.begin(), children.end(), name,
      [this](uint32_t index, std::string_view wanted) { return entries_[index].name < wanted; });
  if (it == children.end() || entries_[*it].name != name) return std::nullopt;
  return *it;
}

std::optional<uint32_t> VersionTree::Find(std::string_view relative_path) const {
  if (entries_.empty()) return std::nullopt;
  uint32_t current = 0;
  while (!relative_path.empty()) {
    size_t slash = relative_path.find('/');
    std::string_view part = relative_path.substr(0, slash);
    relative_path = slash == std::string_view::npos ? "" : relative_path.substr(slash + 1);
    if (part.empty()) continue;
    auto next = Child(current, part);
    if (!next) return std::nullopt;
    current = *next;
  }
  return current;
}

std::string VersionTree::PathOf(uint32_t index) const {
  std::string path;
  while (index != 0 && index < entries_.size()) {
    path = path.empty() ? entries_[index].name : entries_[index].name + "/" + path;
    index = entries_[index].parent;
  }
  return path;
}

Digest VersionTree::NodeDigest(uint32_t index) const {
  const TreeEntry& entry = entries_[index];
  Sha256 hasher;
  std::string header;
  header.push_back(static_cast<char>(entry.type));
  PutVarint(header, entry.mode);
  hasher.Update(header);
  if (entry.type == EntryType::kFile) hasher.Update(entry.digest.view());
  if (entry.type == EntryType::kSymlink) hasher.Update(entry.target);
  for (uint32_t child : entry.children) {
    std::string name;
    PutLengthPrefixed(name, entries_[child].name);
    hasher.Update(name);
    hasher.Update(NodeDigest(child).view());
  }
  return hasher.Finish();
}

Digest VersionTree::ComputeDigest() const {
  if (entries_.empty()) return Sha256Of(std::string_view());
  return NodeDigest(0);
}

std::string VersionTree::Encode() const {
  std::string out;
  out.push_back(static_cast<char>(kTreeFormat));
  PutVarint(out, entries_.size());
  for (const TreeEntry& entry : entries_) {
    PutVarint(out, entry.parent);
    PutLengthPrefixed(out, entry.name);
    out.push_back(static_cast<char>(entry.type));
    PutVarint(out, entry.mode);
    PutVarint(out, entry.size);
    PutVarint(out, ZigZag(entry.mtime_ns));
    if (entry.type == EntryType::kFile) out.append(entry.digest.view());
    if (entry.type == EntryType::kSymlink) PutLengthPrefixed(out, entry.target);
  }
  return out;
}

Result<VersionTree> VersionTree::Decode(std::string_view bytes) {
  Decoder decoder(bytes, "tree");
  uint8_t format = 0;
  uint64_t count = 0;
  RETURN_IF_ERROR(decoder.GetByte(format));
  if (format != kTreeFormat) return Status::Unsupported("tree format " + std::to_string(format));
  RETURN_IF_ERROR(decoder.GetVarint(count));
  if (count > bytes.size()) return Status::Corruption("tree claims more entries than bytes");
  std::vector<TreeEntry> entries(count);
  for (uint64_t i = 0; i < count; ++i) {
    TreeEntry& entry = entries[i];
    uint64_t parent = 0, mode = 0, mtime = 0;
    uint8_t type = 0;
    RETURN_IF_ERROR(decoder.GetVarint(parent));
    RETURN_IF_ERROR(decoder.GetString(entry.name));
    RETURN_IF_ERROR(decoder.GetByte(type));
    RETURN_IF_ERROR(decoder.GetVarint(mode));
    RETURN_IF_ERROR(decoder.GetVarint(entry.size));
    RETURN_IF_ERROR(decoder.GetVarint(mtime));
    if ((i > 0 && parent >= i) || type > 2) return Status::Corruption("tree entry out of order");
    if (i > 0 && entries[parent].type != EntryType::kDirectory) {
      return Status::Corruption("tree entry's parent is not a directory");
    }
    entry.parent = static_cast<uint32_t>(parent);
    entry.type = static_cast<EntryType>(type);
    entry.mode = static_cast<uint32_t>(mode & 07777);
    entry.mtime_ns = UnZigZag(mtime);
    if (entry.type == EntryType::kFile) RETURN_IF_ERROR(decoder.GetDigest(entry.digest));
    if (entry.type == EntryType::kSymlink) RETURN_IF_ERROR(decoder.GetString(entry.target));
  }
  return VersionTree(std::move(entries));
}

size_t Recipe::ExtentAt(uint64_t offset) const {
  auto it =
      std::upper_bound(extents.begin(), extents.end(), offset,
                       [](uint64_t value, const Extent& extent) { return value < extent.end; });
  return static_cast<size_t>(it - extents.begin());
}

std::string Recipe::Encode() const {
  std::string out;
  PutVarint(out, extents.size());
  uint64_t start = 0;
  for (const Extent& extent : extents) {
    out.append(extent.chunk.view());
    PutVarint(out, extent.end - start);
    start = extent.end;
  }
  return out;
}

Result<Recipe> Recipe::Decode(std::string_view bytes) {
  Decoder decoder(bytes, "recipe");
  uint64_t count = 0;
  RETURN_IF_ERROR(decoder.GetVarint(count));
  if (count > bytes.size() / 33) return Status::Corruption("recipe claims too many extents");
  Recipe recipe;
  recipe.extents.resize(count);
  uint64_t end = 0;
  for (Extent& extent : recipe.extents) {
    uint64_t length = 0;
    RETURN_IF_ERROR(decoder.GetDigest(extent.chunk));
    RETURN_IF_ERROR(decoder.GetVarint(length));
    if (length == 0) return Status::Corruption("recipe has an empty extent");
    if (length > UINT64_MAX - end) return Status::Corruption("recipe extents overflow 2^64");
    end += length;
    extent.end = end;
  }
  return recipe;
}

std::string ChunkInfo::Encode() const {
  std::string out;
  out.push_back(static_cast<char>(dtype));
  PutVarint(out, raw_size);
  PutVarint(out, stored_size);
  if (base) out.append(base->view());
  for (const Digest& more : more_bases) out.append(more.view());
  return out;
}

std::vector<Digest> ChunkInfo::Bases() const {
  std::vector<Digest> bases;
  if (base) bases.push_back(*base);
  bases.insert(bases.end(), more_bases.begin(), more_bases.end());
  return bases;
}

Result<ChunkInfo> ChunkInfo::Decode(std::string_view bytes) {
  Decoder decoder(bytes, "chunk info");
  ChunkInfo info;
  RETURN_IF_ERROR(decoder.GetByte(info.dtype));
  RETURN_IF_ERROR(decoder.GetVarint(info.raw_size));
  RETURN_IF_ERROR(decoder.GetVarint(info.stored_size));
  if (decoder.remaining() == 0) return info;
  if (decoder.remaining() % 32 != 0) return Status::Corruption("chunk info: trailing bytes");
  for (size_t at = bytes.size() - decoder.remaining(); at < bytes.size(); at += 32) {
    ASSIGN_OR_RETURN(Digest base, Digest::FromView(bytes.substr(at, 32)));
    if (info.base) {
      info.more_bases.push_back(base);
    } else {
      info.base = base;
    }
  }
  return info;
}

std::string FileInfo::Encode() const {
  std::string out;
  PutLengthPrefixed(out, format);
  PutLengthPrefixed(out, fallback_reason);
  PutVarint(out, tensors.size());
  for (const TensorRecord& tensor : tensors) {
    PutLengthPrefixed(out, tensor.name);
    out.push_back(static_cast<char>(tensor.dtype));
    PutLengthPrefixed(out, tensor.native_dtype);
    PutVarint(out, tensor.shape.size());
    for (int64_t dim : tensor.shape) PutVarint(out, ZigZag(dim));
    PutVarint(out, tensor.offset);
    PutVarint(out, tensor.length);
    out.append(tensor.digest.view());
  }
  return out;
}

Result<FileInfo> FileInfo::Decode(std::string_view bytes) {
  Decoder decoder(bytes, "file info");
  FileInfo info;
  uint64_t count = 0;
  RETURN_IF_ERROR(decoder.GetString(info.format));
  RETURN_IF_ERROR(decoder.GetString(info.fallback_reason));
  RETURN_IF_ERROR(decoder.GetVarint(count));
  if (count > bytes.size()) return Status::Corruption("file info claims too many tensors");
  info.tensors.resize(count);
  for (TensorRecord& tensor : info.tensors) {
    uint64_t rank = 0;
    RETURN_IF_ERROR(decoder.GetString(tensor.name));
    RETURN_IF_ERROR(decoder.GetByte(tensor.dtype));
    RETURN_IF_ERROR(decoder.GetString(tensor.native_dtype));
    RETURN_IF_ERROR(decoder.GetVarint(rank));
    if (rank > decoder.remaining()) return Status::Corruption("tensor rank too large");
    for (uint64_t d = 0; d < rank; ++d) {
      uint64_t dim = 0;
      RETURN_IF_ERROR(decoder.GetVarint(dim));
      tensor.shape.push_back(UnZigZag(dim));
    }
    RETURN_IF_ERROR(decoder.GetVarint(tensor.offset));
    RETURN_IF_ERROR(decoder.GetVarint(tensor.length));
    RETURN_IF_ERROR(decoder.GetDigest(tensor.digest));
  }
  return info;
}

}  // namespace re2po
