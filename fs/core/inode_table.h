// Inode numbers and the per-inode state the kernel holds references to.
//
// Every inode number is derived from the catalog, never from a pointer, so a
// file keeps its number for the life of the mount and across remounts:
//
//   1                                the root, listing the models
//   2 + 2 * id                       /<model>           id = ModelEntry::id
//   3 + 2 * id                       /<model>/latest    (both for id < 2^23 - 1)
//   ((seq + 1) << 24) | (index + 1)  entry `index` of the tree of the version
//                                    imported with sequence number `seq`
//                                    (index 0, the tree's root, is the version
//                                    directory itself); for seq < 2^39 and
//                                    index < 2^24 - 1
//   2^63 | n                         overflow: anything out of those ranges
//                                    (a model id >= 2^23 - 1, a tree of 16M
//                                    entries) gets the next n from a counter,
//                                    remembered for the life of the mount
//
// The ranges cannot collide: model inodes are < 2^24, entry inodes are in
// [2^24, 2^63), overflow inodes are >= 2^63. A version removed and imported
// again gets a new seq, hence new inode numbers.
//
// InodeTable maps each inode the kernel knows (has been given by lookup or
// readdirplus and not yet forgotten) to a small Node, with the kernel's lookup
// count (fuse_lowlevel.h, "forget"). A Node of a version entry holds the
// version's tree, so a removed version stays readable through inodes the
// kernel still holds.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "fs/core/mounted_version.h"

namespace re2po::fs {

inline constexpr uint64_t kRootIno = 1;

enum class NodeKind : uint8_t { kRoot, kModel, kLatest, kEntry };

struct Node {
  NodeKind kind = NodeKind::kRoot;
  std::string model;                              // kModel, kLatest, kEntry
  uint64_t model_id = 0;                          // kModel, kLatest
  std::shared_ptr<const MountedVersion> version;  // kEntry
  uint32_t entry = 0;                             // kEntry: index in version->tree()

  const TreeEntry& tree_entry() const { return version->tree().entry(entry); }
};

// Inode number assignment (the scheme above). Thread-safe.
class InodeNumbers {
 public:
  uint64_t Model(uint64_t model_id);
  uint64_t Latest(uint64_t model_id);
  uint64_t Entry(uint64_t seq, uint32_t index);

 private:
  uint64_t Overflow(uint8_t kind, uint64_t a, uint64_t b);

  std::mutex mutex_;
  std::map<std::tuple<uint8_t, uint64_t, uint64_t>, uint64_t> overflow_;
  uint64_t next_overflow_ = 0;
};

class InodeTable {
 public:
  InodeTable() = default;
  InodeTable(const InodeTable&) = delete;
  InodeTable& operator=(const InodeTable&) = delete;

  // The kernel was given `ino` once more (a lookup or a readdirplus entry).
  void Ref(uint64_t ino, Node node);
  // The kernel dropped `count` references; the node goes at zero.
  void Forget(uint64_t ino, uint64_t count);
  // The node of an inode the kernel holds; the root is always there.
  std::optional<Node> Get(uint64_t ino) const;
  size_t size() const;
  // The version entries of `model` the kernel holds (a walk over every
  // shard: for rare changes such as a model's new access).
  std::vector<uint64_t> EntriesOf(std::string_view model) const;

 private:
  struct Slot {
    Node node;
    uint64_t lookups = 0;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<uint64_t, Slot> slots;
  };
  static constexpr size_t kShards = 16;
  Shard& ShardOf(uint64_t ino) const { return shards_[(ino ^ (ino >> 24)) % kShards]; }

  mutable std::array<Shard, kShards> shards_;
};

}  // namespace re2po::fs
