// MountedRepository: names, attributes, links, xattrs and refresh. Listings
// are in mounted_repo_dirs.cc, file reads in mounted_repo_files.cc.
#include "fs/core/mounted_repo.h"

#include <set>

#include "fs/core/xattrs.h"
#include "store/base/names.h"

namespace re2po::fs {

MountedRepository::MountedRepository(std::unique_ptr<Store> store,
                                     std::unique_ptr<UsageRecorder> usage,
                                     const RepoOptions& options,
                                     std::unique_ptr<AccessLog> access_log)
    : store_(std::move(store)),
      usage_(std::move(usage)),
      options_(options),
      versions_(*store_, options.cached_versions),
      catalog_(store_->Catalog()),
      metrics_(options.metrics),
      access_log_(std::move(access_log)),
      prefetcher_(*store_, options.prefetch) {
  CatalogRefreshed(*catalog_);
}

MountedRepository::~MountedRepository() = default;

std::shared_ptr<const CatalogSnapshot> MountedRepository::catalog() const {
  std::lock_guard lock(catalog_mutex_);
  return catalog_;
}

Result<Node> MountedRepository::NodeOf(uint64_t ino) const {
  std::optional<Node> node = inodes_.Get(ino);
  if (!node) return Status::NotFound("inode " + std::to_string(ino) + " is not known");
  return std::move(*node);
}

Result<const ModelEntry*> MountedRepository::LiveModel(const CatalogSnapshot& catalog,
                                                       const Node& node) {
  const ModelEntry* model = catalog.FindModel(node.model);
  if (model == nullptr || model->id != node.model_id || model->Latest() == nullptr) {
    return Status::NotFound("model " + node.model + " was removed");
  }
  return model;
}

std::string MountedRepository::Describe(const Node& node) {
  // Appends rather than operator+: GCC 12 raises a false -Wrestrict on "/" + string.
  std::string path = "/";
  switch (node.kind) {
    case NodeKind::kRoot:
      return path;
    case NodeKind::kModel:
      return path.append(node.model);
    case NodeKind::kLatest:
      return path.append(node.model).append("/latest");
    case NodeKind::kEntry:
      break;
  }
  const VersionRecord& record = node.version->record();
  path = record.model;
  path.append("@").append(std::to_string(record.version));
  if (node.entry != 0) path.append(":").append(node.version->tree().PathOf(node.entry));
  return path;
}

Owner MountedRepository::OwnerOfModel(std::string_view model) const {
  const auto snapshot = catalog();
  const ModelEntry* entry = snapshot->FindModel(model);
  return entry == nullptr ? options_.owner : OwnerOf(entry->access, options_.owner);
}

MountedRepository::Child MountedRepository::ModelNode(const ModelEntry& model) {
  Node node{NodeKind::kModel, model.name, model.id, nullptr, 0};
  const uint64_t ino = numbers_.Model(model.id);
  // A hidden model's name is looked up again on every path walk, so a
  // dentry cached for a caller who may list it never answers one who may not.
  const double entry_timeout = model.access.hidden ? 0 : options_.listing_timeout;
  return {node,
          {ino, ModelAttributes(model, ino, OwnerOf(model.access, options_.owner)), entry_timeout,
           options_.listing_timeout}};
}

MountedRepository::Child MountedRepository::LatestNode(const ModelEntry& model) {
  Node node{NodeKind::kLatest, model.name, model.id, nullptr, 0};
  const uint64_t ino = numbers_.Latest(model.id);
  return {node,
          {ino, LatestAttributes(model, ino, OwnerOf(model.access, options_.owner)),
           options_.listing_timeout, options_.listing_timeout}};
}

MountedRepository::Child MountedRepository::EntryNode(
    const std::shared_ptr<const MountedVersion>& version, uint32_t index, const Owner& owner) {
  Node node{NodeKind::kEntry, version->record().model, 0, version, index};
  const uint64_t ino = numbers_.Entry(version->record().seq, index);
  // The name of a version in its model directory may vanish; what is inside never changes.
  const double entry_timeout = index == 0 ? options_.listing_timeout : options_.content_timeout;
  return {
      node,
      {ino, EntryAttributes(*version, index, ino, owner), entry_timeout, options_.content_timeout}};
}

uint64_t MountedRepository::InoOf(const Node& node) {
  switch (node.kind) {
    case NodeKind::kRoot:
      return kRootIno;
    case NodeKind::kModel:
      return numbers_.Model(node.model_id);
    case NodeKind::kLatest:
      return numbers_.Latest(node.model_id);
    case NodeKind::kEntry:
      break;
  }
  return numbers_.Entry(node.version->record().seq, node.entry);
}

Result<MountedRepository::Child> MountedRepository::ModelChild(const CatalogSnapshot& catalog,
                                                               const Node& dir,
                                                               std::string_view name) {
  const ModelEntry* model = catalog.FindModel(dir.model);
  if (model == nullptr || model->id != dir.model_id) {
    return Status::NotFound("model " + dir.model + " was removed");
  }
  if (name == "latest" && model->Latest() != nullptr) return LatestNode(*model);
  Result<uint64_t> number = ParseVersionNumber(name);
  const VersionRecord* record = number.ok() ? model->Find(*number) : nullptr;
  if (record == nullptr)
    return Status::NotFound("no version " + std::string(name) + " of " + dir.model);
  ASSIGN_OR_RETURN(std::shared_ptr<const MountedVersion> version, versions_.Get(*record));
  return EntryNode(version, 0, OwnerOf(model->access, options_.owner));
}

Result<MountedRepository::Child> MountedRepository::RootChild(std::string_view name,
                                                              const Caller& caller) {
  const auto snapshot = catalog();  // owns *model; a refresh may drop its own copy
  const ModelEntry* model = snapshot->FindModel(name);
  if (model == nullptr || model->Latest() == nullptr) {
    return Status::NotFound("no model " + std::string(name));
  }
  Child child = ModelNode(*model);
  // The same answer as for a model that does not exist: the name must not leak.
  if (model->access.hidden && !MayList(child.reply.attr, caller)) {
    return Status::NotFound("no model " + std::string(name));
  }
  return child;
}

Result<MountedRepository::Child> MountedRepository::ResolveChild(const Node& dir,
                                                                 std::string_view name,
                                                                 const Caller& caller) {
  switch (dir.kind) {
    case NodeKind::kRoot:
      return RootChild(name, caller);
    case NodeKind::kModel:
      return ModelChild(*catalog(), dir, name);
    case NodeKind::kLatest:
      return Status::NotFound("latest is not a directory");
    case NodeKind::kEntry:
      break;
  }
  if (dir.tree_entry().type != EntryType::kDirectory) {
    return Status::NotFound(Describe(dir) + " is not a directory");
  }
  std::optional<uint32_t> index = dir.version->tree().Child(dir.entry, name);
  if (!index) return Status::NotFound("no " + std::string(name) + " in " + Describe(dir));
  return EntryNode(dir.version, *index, OwnerOfModel(dir.model));
}

Result<EntryReply> MountedRepository::Lookup(uint64_t parent, std::string_view name,
                                             const Caller& caller) {
  ASSIGN_OR_RETURN(Node dir, NodeOf(parent));
  ASSIGN_OR_RETURN(Child child, ResolveChild(dir, name, caller));
  inodes_.Ref(child.reply.ino, std::move(child.node));
  return child.reply;
}

void MountedRepository::Remember(const DirEntry& entry) {
  if (entry.reply.ino != 0) inodes_.Ref(entry.reply.ino, entry.node);
}

Result<AttrReply> MountedRepository::AttributesOf(const Node& node, uint64_t ino) {
  if (node.kind == NodeKind::kEntry) {
    const Owner owner = OwnerOfModel(node.model);
    return AttrReply{EntryAttributes(*node.version, node.entry, ino, owner),
                     options_.content_timeout};
  }
  const auto snapshot = catalog();
  if (node.kind == NodeKind::kRoot) {
    return AttrReply{RootAttributes(*snapshot, options_.mounted_ns, options_.owner),
                     options_.listing_timeout};
  }
  ASSIGN_OR_RETURN(const ModelEntry* model, LiveModel(*snapshot, node));
  const Owner owner = OwnerOf(model->access, options_.owner);
  struct stat attr = node.kind == NodeKind::kModel ? ModelAttributes(*model, ino, owner)
                                                   : LatestAttributes(*model, ino, owner);
  return AttrReply{attr, options_.listing_timeout};
}

Result<AttrReply> MountedRepository::GetAttr(uint64_t ino) {
  ASSIGN_OR_RETURN(Node node, NodeOf(ino));
  return AttributesOf(node, ino);
}

Result<std::string> MountedRepository::ReadLink(uint64_t ino) {
  ASSIGN_OR_RETURN(Node node, NodeOf(ino));
  if (node.kind == NodeKind::kEntry && node.tree_entry().type == EntryType::kSymlink) {
    return node.tree_entry().target;
  }
  if (node.kind != NodeKind::kLatest) {
    return Status::InvalidArgument(Describe(node) + " is not a symbolic link");
  }
  const auto snapshot = catalog();  // owns *model
  ASSIGN_OR_RETURN(const ModelEntry* model, LiveModel(*snapshot, node));
  return VersionName(model->Latest()->version);
}

Result<std::optional<std::string>> MountedRepository::GetXattr(uint64_t ino,
                                                               std::string_view name) {
  ASSIGN_OR_RETURN(Node node, NodeOf(ino));
  if (name == kSignatureXattr) return SignatureXattr(node);
  return XattrOf(node, name);
}

// Asked of the store each time: a signature may come after the version was
// loaded (`re2po sign` on a mounted store).
Result<std::optional<std::string>> MountedRepository::SignatureXattr(const Node& node) {
  if (node.kind != NodeKind::kEntry || node.entry != 0) return std::optional<std::string>();
  ASSIGN_OR_RETURN(std::optional<VersionSignature> signature,
                   store_->SignatureOf(node.version->record()));
  if (!signature) return std::optional<std::string>();
  return std::optional<std::string>(SignatureXattrValue(*signature));
}

Result<std::string> MountedRepository::ListXattr(uint64_t ino) {
  ASSIGN_OR_RETURN(Node node, NodeOf(ino));
  std::string names = XattrNameList(node);
  ASSIGN_OR_RETURN(std::optional<std::string> signature, SignatureXattr(node));
  if (signature) names.append(kSignatureXattr).push_back('\0');
  return names;
}

Result<std::vector<Invalidation>> MountedRepository::Refresh() {
  Result<bool> refreshed = store_->Refresh();
  if (!refreshed.ok()) {
    refresh_failures_.fetch_add(1, std::memory_order_relaxed);
    return refreshed.status();
  }
  // Whether anything changed is decided by the snapshot pointer readers see.
  std::shared_ptr<const CatalogSnapshot> after = store_->Catalog();
  CatalogRefreshed(*after);
  std::shared_ptr<const CatalogSnapshot> before;
  {
    std::lock_guard lock(catalog_mutex_);
    if (after == catalog_) return std::vector<Invalidation>{};
    before = std::exchange(catalog_, after);
  }
  std::set<uint64_t> live;
  for (const ModelEntry& model : after->models()) {
    for (const VersionRecord& record : model.versions) live.insert(record.seq);
  }
  versions_.Retain(live);
  std::vector<Invalidation> invalidations = DiffCatalogs(*before, *after, numbers_);
  for (const std::string& model : ModelsWithNewAccess(*before, *after)) {
    for (uint64_t ino : inodes_.EntriesOf(model)) invalidations.push_back({0, "", ino});
  }
  return invalidations;
}

}  // namespace re2po::fs
