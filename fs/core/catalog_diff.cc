#include "fs/core/catalog_diff.h"

#include <map>
#include <utility>

#include "fs/core/attributes.h"

namespace re2po::fs {
namespace {

// version -> seq: a version removed and imported again is a different directory.
std::map<uint64_t, uint64_t> VersionSeqs(const ModelEntry& model) {
  std::map<uint64_t, uint64_t> seqs;
  for (const VersionRecord& record : model.versions) seqs.emplace(record.version, record.seq);
  return seqs;
}

class Differ {
 public:
  explicit Differ(InodeNumbers& inodes) : inodes_(inodes) {}

  void Entry(uint64_t parent, std::string name) {
    entries_.push_back({parent, std::move(name), 0});
  }
  void Inode(uint64_t ino) { inodes_changed_.push_back({0, "", ino}); }

  void ModelGone(const ModelEntry& model) {
    Entry(kRootIno, model.name);
    Inode(inodes_.Model(model.id));
  }

  void ModelChanged(const ModelEntry& before, const ModelEntry& after) {
    const uint64_t dir = inodes_.Model(after.id);
    if (before.access != after.access) {
      // Hidden or shown: the name itself must be looked up again.
      Entry(kRootIno, after.name);
      Inode(dir);
      Inode(inodes_.Latest(after.id));
    }
    const auto old_seqs = VersionSeqs(before);
    const auto new_seqs = VersionSeqs(after);
    bool changed = false;
    for (const auto& [version, seq] : old_seqs) {
      auto it = new_seqs.find(version);
      if (it == new_seqs.end() || it->second != seq) {
        Entry(dir, VersionName(version));
        changed = true;
      }
    }
    for (const auto& [version, seq] : new_seqs) {
      if (!old_seqs.contains(version)) {
        Entry(dir, VersionName(version));
        changed = true;
      }
    }
    if (!changed) return;
    Inode(dir);
    const VersionRecord* old_latest = before.Latest();
    const VersionRecord* new_latest = after.Latest();
    if (old_latest == nullptr || new_latest == nullptr || old_latest->seq != new_latest->seq) {
      Entry(dir, "latest");
      Inode(inodes_.Latest(after.id));
    }
  }

  bool empty() const { return entries_.empty() && inodes_changed_.empty(); }

  std::vector<Invalidation> Take() {
    // Dentries first, so a lookup racing with us cannot re-cache old attributes.
    entries_.insert(entries_.end(), inodes_changed_.begin(), inodes_changed_.end());
    return std::move(entries_);
  }

 private:
  InodeNumbers& inodes_;
  std::vector<Invalidation> entries_;
  std::vector<Invalidation> inodes_changed_;
};

}  // namespace

std::vector<Invalidation> DiffCatalogs(const CatalogSnapshot& before, const CatalogSnapshot& after,
                                       InodeNumbers& inodes) {
  Differ differ(inodes);
  for (const ModelEntry& old_model : before.models()) {
    const ModelEntry* new_model = after.FindModel(old_model.name);
    if (new_model == nullptr || new_model->id != old_model.id) {
      differ.ModelGone(old_model);
    } else {
      differ.ModelChanged(old_model, *new_model);
    }
  }
  for (const ModelEntry& new_model : after.models()) {
    const ModelEntry* old_model = before.FindModel(new_model.name);
    if (old_model == nullptr || old_model->id != new_model.id) {
      differ.Entry(kRootIno, new_model.name);
    }
  }
  // The root's listing, link count or time changed with anything below it.
  if (!differ.empty()) differ.Inode(kRootIno);
  return differ.Take();
}

std::vector<std::string> ModelsWithNewAccess(const CatalogSnapshot& before,
                                             const CatalogSnapshot& after) {
  std::vector<std::string> names;
  for (const ModelEntry& new_model : after.models()) {
    const ModelEntry* old_model = before.FindModel(new_model.name);
    if (old_model != nullptr && old_model->id == new_model.id &&
        old_model->access != new_model.access) {
      names.push_back(new_model.name);
    }
  }
  return names;
}

}  // namespace re2po::fs
