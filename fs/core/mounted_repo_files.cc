// MountedRepository: opening and reading files. The store does the chunk
// arithmetic (ReadFile touches only the chunks a range overlaps); here a read
// is one call, and any failure is an I/O error that names the file.
#include <algorithm>

#include "fs/core/mounted_repo.h"
#include "store/base/clock.h"

namespace re2po::fs {
namespace {

// How far past a read of a file read ahead whole its chunks jump the queue.
constexpr uint64_t kUrgentWindow = uint64_t{2} << 20;

// The chunks [offset, offset + length) overlaps, for the error message.
std::string ChunksOf(const Recipe& recipe, uint64_t offset, uint64_t length) {
  if (offset >= recipe.size() || length == 0) return "none";
  const uint64_t last = std::min(recipe.size(), offset + length) - 1;
  std::string names;
  const size_t first_index = recipe.ExtentAt(offset);
  const size_t last_index = recipe.ExtentAt(last);
  for (size_t i = first_index; i <= last_index && i < first_index + 4; ++i) {
    if (!names.empty()) names += ", ";
    names += recipe.extents[i].chunk.Hex();
  }
  if (last_index >= first_index + 4) names += ", ...";
  return names;
}

}  // namespace

// Whether opening the file costs fetches: "cache" when every chunk is
// decoded in memory now (it stops at the first that is not), else where
// chunks come from.
std::string_view MountedRepository::ServedFrom(const Recipe& recipe) const {
  for (const Extent& extent : recipe.extents) {
    if (!store_->ChunkCached(extent.chunk)) return store_->Kind();
  }
  return "cache";
}

void MountedRepository::LogOpen(const Node& node, const Recipe* recipe, const Caller& caller,
                                std::string refused) {
  const VersionRecord& record = node.version->record();
  if (metrics_.enabled() && recipe) metrics_.Opened(record.model);
  if (!access_log_) return;
  AccessRecord access;
  access.time_ns = NowNs();
  access.model = record.model;
  access.version = record.version;
  access.path = node.version->tree().PathOf(node.entry);
  access.uid = caller.uid;
  ProcessIdentity identity = IdentifyProcess(caller.pid);
  access.pid = identity.pid;
  access.command = std::move(identity.command);
  access.cgroup = std::move(identity.cgroup);
  access.served_from = recipe ? ServedFrom(*recipe) : "refused";
  access.refused = std::move(refused);
  access.mount = usage_->mount_id();
  access_log_->Submit(std::move(access));
}

Status MountedRepository::CheckKey(const VersionRecord& record) {
  if (!record.protection) return Status::Ok();
  const VersionProtection& protection = *record.protection;
  if (options_.keyring && options_.keyring->FindById(protection.key_id)) return Status::Ok();
  return Status::PermissionDenied(
      record.model + "@" + std::to_string(record.version) + " is protected by key " +
      protection.key_name + " (id " + HexOf(protection.key_id) + "), which this mount's keyring " +
      (options_.keyring ? "lacks" : "does not hold: none was given") + " (-o keyring=FILE)");
}

Result<std::unique_ptr<OpenFile>> MountedRepository::Open(uint64_t ino, const Caller& caller) {
  ASSIGN_OR_RETURN(Node node, NodeOf(ino));
  if (node.kind != NodeKind::kEntry || node.tree_entry().type != EntryType::kFile) {
    return Status::InvalidArgument(Describe(node) + " is not a regular file");
  }
  if (Status key = CheckKey(node.version->record()); !key.ok()) {
    // Who tried to read a protected model without its key is worth a line.
    LogOpen(node, nullptr, caller, "no key " + node.version->record().protection->key_name);
    return key;
  }
  const TreeEntry& entry = node.tree_entry();
  Result<std::shared_ptr<const Recipe>> recipe = store_->FileRecipe(entry.digest);
  if (!recipe.ok()) {
    // The tree names the file, so a missing recipe is damage, not absence.
    return Status::IOError("opening " + Describe(node) + " (file " + entry.digest.Hex() +
                           "): " + recipe.status().ToString());
  }
  if ((*recipe)->size() != entry.size) {
    return Status::Corruption("opening " + Describe(node) + ": the recipe holds " +
                              std::to_string((*recipe)->size()) + " bytes, the tree says " +
                              std::to_string(entry.size));
  }
  const VersionRecord& record = node.version->record();
  auto file = std::make_unique<OpenFile>();
  file->usage = usage_->Counters(record.model, record.version);
  file->usage->Opened();
  file->recipe = std::move(recipe).value();
  LogOpen(node, file->recipe.get(), caller);
  file->node = std::move(node);
  return file;
}

// The kernel's read-ahead requests arrive in parallel and a little out of
// order, so "sequential" is "near where the last read ended". The window
// grows with the run (2 MiB, 4 MiB, then the prefetcher's maximum) so that
// random readers, whose reads land near each other only by chance, cost
// little.
void MountedRepository::ReadAheadIfSequential(const OpenFile& file, uint64_t offset, uint64_t end) {
  constexpr uint64_t kNear = uint64_t{1} << 20;
  const uint64_t last = file.last_end.exchange(end, std::memory_order_relaxed);
  if (offset + kNear < last || offset > last + kNear) {
    file.sequential_reads.store(0, std::memory_order_relaxed);
    file.ahead_until.store(0, std::memory_order_relaxed);
    return;
  }
  const uint32_t run = file.sequential_reads.fetch_add(1, std::memory_order_relaxed) + 1;
  if (run < 2) return;
  // The window is clamped here, not only by the prefetcher: `ahead_until`
  // must record what was queued, or a long run would mark the whole file
  // as queued and read-ahead would stop after the first few megabytes.
  const uint64_t window =
      std::min(uint64_t{1} << std::min<uint32_t>(run + 19, 40), options_.prefetch.window_bytes);
  const uint64_t until = end + window;
  const uint64_t from = std::max(end, file.ahead_until.exchange(until, std::memory_order_relaxed));
  if (from < until) prefetcher_.AheadOf(*file.recipe, from, until - from);
}

Result<std::vector<ChunkSlice>> MountedRepository::ReadSlices(const OpenFile& file, uint64_t offset,
                                                              size_t size) {
  file.usage->Touch();
  const bool whole = file.recipe->size() <= options_.whole_file_readahead;
  if (whole && !file.read_before.exchange(true, std::memory_order_relaxed)) {
    store_->ExpectReads(*file.recipe, offset);
    prefetcher_.WholeFile(*file.recipe, offset);
  }
  // What follows this read is wanted next, wherever the reader jumped to.
  if (whole) prefetcher_.AheadOf(*file.recipe, offset + size, kUrgentWindow);
  Result<std::vector<ChunkSlice>> slices = store_->ReadSlices(*file.recipe, offset, size);
  if (slices.ok()) {
    uint64_t count = 0;
    for (const ChunkSlice& slice : *slices) count += slice.length;
    if (!whole) ReadAheadIfSequential(file, offset, offset + count);
    return slices;
  }
  return Status::IOError("reading " + Describe(file.node) + " (file " +
                         file.node.tree_entry().digest.Hex() + ") at offset " +
                         std::to_string(offset) + "+" + std::to_string(size) + ", chunks " +
                         ChunksOf(*file.recipe, offset, size) + ": " + slices.status().ToString());
}

Result<size_t> MountedRepository::Read(const OpenFile& file, uint64_t offset,
                                       std::span<uint8_t> out) {
  ASSIGN_OR_RETURN(std::vector<ChunkSlice> slices, ReadSlices(file, offset, out.size()));
  return CopySlices(slices, out);
}

}  // namespace re2po::fs
