#include "fs/core/attributes.h"

#include <algorithm>
#include <charconv>

namespace re2po::fs {
namespace {

constexpr mode_t kSyntheticDirMode = 0555;
constexpr mode_t kSymlinkMode = 0777;
constexpr blksize_t kBlockSize = 1 << 20;  // a hint for read sizes; matches max_read

timespec ToTimespec(int64_t ns) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  if (ts.tv_nsec < 0) {
    ts.tv_nsec += 1'000'000'000;
    --ts.tv_sec;
  }
  return ts;
}

struct stat Base(uint64_t ino, mode_t mode, nlink_t nlink, uint64_t size, int64_t time_ns,
                 Owner owner) {
  struct stat st {};
  st.st_ino = ino;
  st.st_mode = mode;
  st.st_nlink = nlink;
  st.st_uid = owner.uid;
  st.st_gid = owner.gid;
  st.st_size = static_cast<off_t>(size);
  st.st_blocks = static_cast<blkcnt_t>((size + 511) / 512);
  st.st_blksize = kBlockSize;
  st.st_atim = st.st_mtim = st.st_ctim = ToTimespec(time_ns);
  return st;
}

int64_t LatestCreated(const ModelEntry& model) {
  const VersionRecord* latest = model.Latest();
  return latest == nullptr ? 0 : latest->created_ns;
}

}  // namespace

struct stat RootAttributes(const CatalogSnapshot& catalog, int64_t mounted_ns, Owner owner) {
  int64_t newest = 0;
  for (const ModelEntry& model : catalog.models()) newest = std::max(newest, LatestCreated(model));
  return Base(1, S_IFDIR | kSyntheticDirMode, 2 + catalog.models().size(), 0,
              newest == 0 ? mounted_ns : newest, owner);
}

Owner OwnerOf(const ModelAccess& access, const Owner& mount_owner) {
  Owner owner = mount_owner;
  if (access.uid) owner.uid = *access.uid;
  if (access.gid) owner.gid = *access.gid;
  if (access.mode) owner.mode = *access.mode;
  return owner;
}

bool MayList(const struct stat& directory, const Caller& caller) {
  if (caller.uid == 0) return true;  // CAP_DAC_OVERRIDE: the kernel lets root list anything
  if (caller.uid == directory.st_uid) return (directory.st_mode & S_IRUSR) != 0;
  const bool in_group = caller.gid == directory.st_gid ||
                        std::find(caller.groups.begin(), caller.groups.end(), directory.st_gid) !=
                            caller.groups.end();
  if (in_group) return (directory.st_mode & S_IRGRP) != 0;
  return (directory.st_mode & S_IROTH) != 0;
}

struct stat ModelAttributes(const ModelEntry& model, uint64_t ino, Owner owner) {
  return Base(ino, S_IFDIR | owner.mode.value_or(kSyntheticDirMode), 2 + model.versions.size(), 0,
              LatestCreated(model), owner);
}

struct stat LatestAttributes(const ModelEntry& model, uint64_t ino, Owner owner) {
  const VersionRecord* latest = model.Latest();
  const uint64_t length = latest == nullptr ? 0 : VersionName(latest->version).size();
  return Base(ino, S_IFLNK | kSymlinkMode, 1, length, LatestCreated(model), owner);
}

struct stat EntryAttributes(const MountedVersion& version, uint32_t index, uint64_t ino,
                            Owner owner) {
  const TreeEntry& entry = version.tree().entry(index);
  const int64_t time_ns = index == 0 ? version.record().created_ns : entry.mtime_ns;
  mode_t perms = entry.mode & 07777 & owner.mode.value_or(07777);
  // A version imported from a single file has a made-up root: keep it usable.
  if (index == 0 && (entry.mode & 07777) == 0) perms = owner.mode.value_or(kSyntheticDirMode);
  switch (entry.type) {
    case EntryType::kDirectory:
      return Base(ino, S_IFDIR | perms, 2 + version.Subdirectories(index), 0, time_ns, owner);
    case EntryType::kSymlink:
      return Base(ino, S_IFLNK | kSymlinkMode, 1, entry.target.size(), time_ns, owner);
    case EntryType::kFile:
      break;
  }
  return Base(ino, S_IFREG | perms, 1, entry.size, time_ns, owner);
}

std::string VersionName(uint64_t version) { return std::to_string(version); }

}  // namespace re2po::fs
