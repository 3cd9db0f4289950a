#include "fs/core/inode_table.h"

namespace re2po::fs {
namespace {
constexpr uint64_t kMaxModelId = (uint64_t{1} << 23) - 2;
constexpr uint64_t kMaxSeq = (uint64_t{1} << 39) - 2;
constexpr uint64_t kMaxIndex = (uint64_t{1} << 24) - 2;
constexpr uint64_t kOverflowBit = uint64_t{1} << 63;
}  // namespace

uint64_t InodeNumbers::Model(uint64_t model_id) {
  if (model_id > kMaxModelId) return Overflow(0, model_id, 0);
  return 2 + 2 * model_id;
}

uint64_t InodeNumbers::Latest(uint64_t model_id) {
  if (model_id > kMaxModelId) return Overflow(1, model_id, 0);
  return 3 + 2 * model_id;
}

uint64_t InodeNumbers::Entry(uint64_t seq, uint32_t index) {
  if (seq > kMaxSeq || index > kMaxIndex) return Overflow(2, seq, index);
  return ((seq + 1) << 24) | (uint64_t{index} + 1);
}

uint64_t InodeNumbers::Overflow(uint8_t kind, uint64_t a, uint64_t b) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = overflow_.try_emplace({kind, a, b}, 0);
  if (inserted) it->second = kOverflowBit | next_overflow_++;
  return it->second;
}

void InodeTable::Ref(uint64_t ino, Node node) {
  if (ino == kRootIno) return;  // the root is implicit and never forgotten
  Shard& shard = ShardOf(ino);
  std::lock_guard lock(shard.mutex);
  Slot& slot = shard.slots[ino];
  slot.node = std::move(node);  // the same inode always describes the same thing
  ++slot.lookups;
}

void InodeTable::Forget(uint64_t ino, uint64_t count) {
  if (ino == kRootIno) return;
  Shard& shard = ShardOf(ino);
  std::shared_ptr<const MountedVersion> release;  // freed after the lock is dropped
  std::lock_guard lock(shard.mutex);
  auto it = shard.slots.find(ino);
  if (it == shard.slots.end()) return;
  if (it->second.lookups > count) {
    it->second.lookups -= count;
    return;
  }
  release = std::move(it->second.node.version);
  shard.slots.erase(it);
}

std::optional<Node> InodeTable::Get(uint64_t ino) const {
  if (ino == kRootIno) return Node{};
  Shard& shard = ShardOf(ino);
  std::lock_guard lock(shard.mutex);
  auto it = shard.slots.find(ino);
  if (it == shard.slots.end()) return std::nullopt;
  return it->second.node;
}

std::vector<uint64_t> InodeTable::EntriesOf(std::string_view model) const {
  std::vector<uint64_t> inodes;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (const auto& [ino, slot] : shard.slots) {
      if (slot.node.kind == NodeKind::kEntry && slot.node.model == model) inodes.push_back(ino);
    }
  }
  return inodes;
}

size_t InodeTable::size() const {
  size_t total = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    total += shard.slots.size();
  }
  return total;
}

}  // namespace re2po::fs
