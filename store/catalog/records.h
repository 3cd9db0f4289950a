// In-memory forms of the catalog records, with their byte encodings
// (docs/format.md). Records are immutable once written: a version never
// changes, it is only added or removed whole.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/base/coding.h"
#include "store/base/digest.h"
#include "store/base/status.h"

namespace re2po {

// Who may read a model on a mount: its owner, group and mode, shown on
// /<model> and everything below it and enforced by the kernel. Unset fields
// keep the mount's defaults (the mounting user, the imported modes). Kept in
// the model record, so changing it re-imports nothing.
struct ModelAccess {
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<uint32_t> mode;  // permission bits (0777): caps every mode below the model
  bool hidden = false;           // left out of / for callers who may not read it

  bool IsDefault() const { return !uid && !gid && !mode && !hidden; }
  friend bool operator==(const ModelAccess&, const ModelAccess&) = default;

  // Appended to the model record (docs/format.md); absent means default.
  void EncodeTo(std::string& out) const;
  static Result<ModelAccess> DecodeFrom(Decoder& decoder);
};

// The version an import was derived from (`re2po import --from`).
struct VersionParent {
  std::string model;
  uint64_t version = 0;
  Digest digest;  // its id then: a parent removed and re-imported is another parent

  friend bool operator==(const VersionParent&, const VersionParent&) = default;
};

// Who made a version, and from what. Absent (all empty) for versions
// imported before provenance was kept.
struct VersionProvenance {
  std::string user;  // the importing user's name, or their uid when it has none
  std::string host;
  std::string tool;  // "re2po 0.1.0"
  std::optional<VersionParent> parent;
  // Stored files that delta chunks of this version were stored against.
  std::vector<Digest> delta_base_files;

  bool empty() const {
    return user.empty() && host.empty() && tool.empty() && !parent && delta_base_files.empty();
  }
  friend bool operator==(const VersionProvenance&, const VersionProvenance&) = default;
};

// A protected version: the key its chunks are sealed by and its chunks and
// files are named by (store/crypto/sealing_key.h). The name is what the
// admin gave; the id is what a node matches against its keyring.
struct VersionProtection {
  std::string key_name;
  std::string key_id;  // 16 raw bytes
  friend bool operator==(const VersionProtection&, const VersionProtection&) = default;
};

struct VersionRecord {
  std::string model;
  uint64_t version = 0;
  uint64_t seq = 0;  // store-wide import sequence number: stable ids for inodes
  int64_t created_ns = 0;
  std::string source_path;
  std::map<std::string, std::string> labels;
  uint64_t logical_bytes = 0;
  uint64_t new_bytes = 0;  // bytes newly stored (compressed) by this import
  uint64_t file_count = 0;
  Digest digest;  // Merkle root over the tree: the version's unique id
  VersionProvenance provenance;
  std::optional<VersionProtection> protection;

  std::string Encode() const;
  static Result<VersionRecord> Decode(std::string_view model, uint64_t version,
                                      std::string_view bytes);
  // What a version signature covers: the record without what is local to
  // one store (seq, new_bytes), prefixed with the model and version.
  std::string SignedBytes() const;
};

// An ed25519 signature over VersionSigningMessage(record), kept beside the
// version (`re2po sign`).
struct VersionSignature {
  std::string public_key;  // 32 raw bytes
  std::string signature;   // 64 bytes
  int64_t signed_ns = 0;

  std::string Encode() const;
  static Result<VersionSignature> Decode(std::string_view bytes);
};

// What a version signature signs: a context string, then the record's
// SignedBytes (id, model, version, metadata and provenance).
std::string VersionSigningMessage(const VersionRecord& record);

// "re2po:sha256:<64 hex>": the version's id, the same in every store that
// holds the same tree; Short is its first 12 hex digits.
std::string VersionId(const Digest& digest);
std::string ShortVersionId(const Digest& digest);

enum class EntryType : uint8_t { kDirectory = 0, kFile = 1, kSymlink = 2 };

struct TreeEntry {
  std::string name;     // empty for the root
  uint32_t parent = 0;  // index of the parent directory; the root is its own parent
  EntryType type = EntryType::kDirectory;
  uint32_t mode = 0;               // permission bits only (07777)
  uint64_t size = 0;               // files: bytes; symlinks: target length
  int64_t mtime_ns = 0;            // the source file's mtime
  Digest digest;                   // files: SHA-256 of the content
  std::string target;              // symlinks
  std::vector<uint32_t> children;  // directories: entry indexes sorted by name (not stored)
};

// A version's directory tree. Entry 0 is the root directory; entries are
// stored in pre-order so a parent always precedes its children.
class VersionTree {
 public:
  VersionTree() = default;
  explicit VersionTree(std::vector<TreeEntry> entries);  // builds the child indexes

  const std::vector<TreeEntry>& entries() const { return entries_; }
  const TreeEntry& entry(uint32_t index) const { return entries_[index]; }
  size_t size() const { return entries_.size(); }
  std::optional<uint32_t> Child(uint32_t directory, std::string_view name) const;
  // "a/b/c" relative to the root; "" is the root.
  std::optional<uint32_t> Find(std::string_view relative_path) const;
  std::string PathOf(uint32_t index) const;
  // Merkle root: names, types, modes, contents and targets; not mtimes.
  Digest ComputeDigest() const;

  std::string Encode() const;
  static Result<VersionTree> Decode(std::string_view bytes);

 private:
  Digest NodeDigest(uint32_t index) const;

  std::vector<TreeEntry> entries_;
};

struct Extent {
  Digest chunk;
  uint64_t end = 0;  // cumulative: offset just past this extent in the file
};

// A file is an ordered list of chunks; `end` offsets make any byte offset a
// binary search away.
struct Recipe {
  std::vector<Extent> extents;
  uint64_t size() const { return extents.empty() ? 0 : extents.back().end; }
  // Index of the extent holding byte `offset` (< size()).
  size_t ExtentAt(uint64_t offset) const;
  uint64_t StartOf(size_t index) const { return index == 0 ? 0 : extents[index - 1].end; }

  std::string Encode() const;
  static Result<Recipe> Decode(std::string_view bytes);
};

struct ChunkInfo {
  uint8_t dtype = 0;
  uint64_t raw_size = 0;
  uint64_t stored_size = 0;
  // Delta chunks (codec 3): the chunk they are stored against, which gc
  // keeps while they live; derived chunks (codec 5): the first piece of
  // their base, and the others in `more_bases` when the base tensor is
  // stored in several (a permuted tensor over 1 MiB).
  std::optional<Digest> base;
  std::vector<Digest> more_bases;

  // base, then more_bases.
  std::vector<Digest> Bases() const;

  std::string Encode() const;
  static Result<ChunkInfo> Decode(std::string_view bytes);
};

}  // namespace re2po

namespace re2po {

// A tensor found in a stored file, for `show --tensors` and `diff`.
struct TensorRecord {
  std::string name;
  uint8_t dtype = 0;
  std::string native_dtype;
  std::vector<int64_t> shape;
  uint64_t offset = 0;
  uint64_t length = 0;
  Digest digest;  // SHA-256 over the digests of the tensor's chunks
};

// What the import learned about a file's format, keyed by content digest.
struct FileInfo {
  std::string format;           // "safetensors", ..., or "generic"
  std::string fallback_reason;  // why a recognised format fell back to generic chunking
  std::vector<TensorRecord> tensors;

  std::string Encode() const;
  static Result<FileInfo> Decode(std::string_view bytes);
};

}  // namespace re2po
