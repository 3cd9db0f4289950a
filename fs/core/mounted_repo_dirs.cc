// MountedRepository: directory listings.
//
//   /            the models, sorted by name, less the hidden ones the
//                caller may not list
//   /<model>/    the versions in numeric order, then `latest`; the versions
//                come without attributes (readdirplus gives names only), so
//                listing a model with thousands of versions loads no trees
//   version dirs the imported tree, sorted by name
#include "fs/core/mounted_repo.h"

namespace re2po::fs {
namespace {

DirEntry Dot(std::string name, uint64_t ino) {
  DirEntry entry;
  entry.name = std::move(name);
  entry.type = S_IFDIR;
  entry.ino = ino;
  return entry;
}

DirEntry WithReply(std::string name, Node node, const EntryReply& reply) {
  DirEntry entry;
  entry.name = std::move(name);
  entry.type = reply.attr.st_mode & S_IFMT;
  entry.ino = reply.ino;
  entry.reply = reply;
  entry.node = std::move(node);
  return entry;
}

}  // namespace

Result<std::shared_ptr<const DirListing>> MountedRepository::OpenDir(uint64_t ino,
                                                                     const Caller& caller) {
  ASSIGN_OR_RETURN(Node dir, NodeOf(ino));
  Result<DirListing> listing = Status::NotFound(Describe(dir) + " is not a directory");
  switch (dir.kind) {
    case NodeKind::kRoot:
      listing = ListRoot(caller);
      break;
    case NodeKind::kModel:
      listing = ListModel(dir, ino);
      break;
    case NodeKind::kEntry:
      listing = ListEntry(dir, ino);
      break;
    case NodeKind::kLatest:
      break;
  }
  if (!listing.ok()) return listing.status();
  return std::make_shared<const DirListing>(std::move(listing).value());
}

Result<DirListing> MountedRepository::ListRoot(const Caller& caller) {
  const auto snapshot = catalog();
  DirListing listing;
  listing.reserve(2 + snapshot->models().size());
  listing.push_back(Dot(".", kRootIno));
  listing.push_back(Dot("..", kRootIno));
  for (const ModelEntry& model : snapshot->models()) {
    if (model.Latest() == nullptr) continue;  // a model shows once it has a version
    Child child = ModelNode(model);
    if (model.access.hidden && !MayList(child.reply.attr, caller)) continue;
    listing.push_back(WithReply(model.name, std::move(child.node), child.reply));
  }
  return listing;
}

Result<DirListing> MountedRepository::ListModel(const Node& dir, uint64_t ino) {
  const auto snapshot = catalog();
  const ModelEntry* model = snapshot->FindModel(dir.model);
  if (model == nullptr || model->id != dir.model_id) {
    return Status::NotFound("model " + dir.model + " was removed");
  }
  DirListing listing;
  listing.reserve(3 + model->versions.size());
  listing.push_back(Dot(".", ino));
  listing.push_back(Dot("..", kRootIno));
  for (const VersionRecord& record : model->versions) {
    DirEntry entry;
    entry.name = VersionName(record.version);
    entry.type = S_IFDIR;
    entry.ino = numbers_.Entry(record.seq, 0);
    listing.push_back(std::move(entry));
  }
  if (model->Latest() != nullptr) {
    Child child = LatestNode(*model);
    listing.push_back(WithReply("latest", std::move(child.node), child.reply));
  }
  return listing;
}

Result<DirListing> MountedRepository::ListEntry(const Node& dir, uint64_t ino) {
  const TreeEntry& entry = dir.tree_entry();
  if (entry.type != EntryType::kDirectory) {
    return Status::InvalidArgument(Describe(dir) + " is not a directory");
  }
  // The kernel ignores the inode of "..", but keep it truthful.
  uint64_t parent = numbers_.Entry(dir.version->record().seq, entry.parent);
  if (dir.entry == 0) {
    const auto snapshot = catalog();  // owns *model
    const ModelEntry* model = snapshot->FindModel(dir.model);
    parent = model == nullptr ? kRootIno : numbers_.Model(model->id);
  }
  const Owner owner = OwnerOfModel(dir.model);  // once for the listing, not per entry
  DirListing listing;
  listing.reserve(2 + entry.children.size());
  listing.push_back(Dot(".", ino));
  listing.push_back(Dot("..", parent));
  for (uint32_t index : entry.children) {
    Child child = EntryNode(dir.version, index, owner);
    listing.push_back(
        WithReply(dir.version->tree().entry(index).name, std::move(child.node), child.reply));
  }
  return listing;
}

}  // namespace re2po::fs
