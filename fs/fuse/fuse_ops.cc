// Each callback: decode the arguments, make one call into MountedRepository,
// map a failed Result with ToErrno (which logs), reply. Guard() makes sure no
// exception crosses into libfuse: bad_alloc becomes ENOMEM, anything else EIO,
// each with a log line. No lock is held when replying. With a metrics
// endpoint, Guard() counts the request, Fail() the cause of an EIO, and the
// callbacks the bytes they reply (relaxed atomics, fs/core/metrics.h), always
// before the reply: a reply frees the request, and its userdata with it.
#include "fs/fuse/fuse_ops.h"

#include <fcntl.h>
#include <sys/uio.h>

#include <cerrno>
#include <chrono>
#include <new>
#include <vector>

#include "fs/core/mounted_repo.h"
#include "fs/fuse/errno_map.h"
#include "store/base/log.h"
#include "store/hooks/test_hooks.h"

namespace re2po::fs {
namespace {

constexpr unsigned kMaxReadahead = 1 << 20;

MountedRepository& Repo(fuse_req_t req) {
  return *static_cast<MountedRepository*>(fuse_req_userdata(req));
}

void CountBytes(fuse_req_t req, FuseOp op, uint64_t bytes) {
  MountMetrics& metrics = Repo(req).metrics();
  if (metrics.enabled()) metrics.Bytes(op, bytes);
}

void CountEio(fuse_req_t req, EioCause cause) {
  MountMetrics& metrics = Repo(req).metrics();
  if (metrics.enabled()) metrics.Eio(cause);
}

// The errno for a failed call (logged by ToErrno); an EIO counted by cause.
int Fail(fuse_req_t req, const Status& status, std::string_view operation, fuse_ino_t ino) {
  const int err = ToErrno(status, operation, ino);
  if (err == EIO) CountEio(req, EioCauseOf(status));
  return err;
}

// Counts the request, then runs `body`; if it throws, replies with an error
// (or, for operations that take no reply, just logs).
template <typename Body>
void Guard(fuse_req_t req, FuseOp op, fuse_ino_t ino, bool replies, Body&& body) {
  const std::string_view operation = FuseOpName(op);
  if (Repo(req).metrics().enabled()) Repo(req).metrics().Request(op);
  int err = EIO;
  try {
    body();
    return;
  } catch (const std::bad_alloc&) {
    err = ENOMEM;
    Logger("fs")->error("{} inode {}: out of memory", operation, ino);
  } catch (const std::exception& e) {
    Logger("fs")->error("{} inode {}: unexpected exception: {}", operation, ino, e.what());
  } catch (...) {
    Logger("fs")->error("{} inode {}: unexpected exception", operation, ino);
  }
  if (replies) {
    if (err == EIO) CountEio(req, EioCause::kOther);
    fuse_reply_err(req, err);
  } else {
    fuse_reply_none(req);
  }
}

// The caller's credentials. Supplementary groups cost a read of
// /proc/<tid>/status, so only the root directory, where hidden models are
// filtered, asks for them.
Caller CallerOf(fuse_req_t req, bool with_groups) {
  const fuse_ctx* context = fuse_req_ctx(req);
  Caller caller{context->uid, context->pid, context->gid, {}};
  if (!with_groups || caller.uid == 0) return caller;
  std::vector<gid_t> groups(32);
  for (int attempt = 0; attempt < 3; ++attempt) {
    const int count = fuse_req_getgroups(req, static_cast<int>(groups.size()), groups.data());
    if (count < 0) break;  // no /proc: the caller is checked by uid and gid alone
    if (static_cast<size_t>(count) <= groups.size()) {
      groups.resize(static_cast<size_t>(count));
      caller.groups = std::move(groups);
      break;
    }
    groups.resize(static_cast<size_t>(count));
  }
  return caller;
}

fuse_entry_param ToEntryParam(const EntryReply& reply) {
  fuse_entry_param param{};
  param.ino = reply.ino;
  param.attr = reply.attr;
  param.entry_timeout = reply.entry_timeout;
  param.attr_timeout = reply.attr_timeout;
  return param;
}

OpenFile& FileOf(fuse_file_info* fi) { return HandleTable<OpenFile>::Get(fi->fh); }
std::shared_ptr<const DirListing>& ListingOf(fuse_file_info* fi) {
  return HandleTable<std::shared_ptr<const DirListing>>::Get(fi->fh);
}

void Init(void* /*userdata*/, fuse_conn_info* conn) {
  conn->max_read = kMaxRead;
  conn->max_readahead = kMaxReadahead;
  for (unsigned cap : {FUSE_CAP_ASYNC_READ, FUSE_CAP_READDIRPLUS, FUSE_CAP_READDIRPLUS_AUTO,
                       FUSE_CAP_PARALLEL_DIROPS, FUSE_CAP_SPLICE_WRITE, FUSE_CAP_SPLICE_MOVE}) {
    if (conn->capable & cap) conn->want |= cap;
  }
  // Files never change under an inode: no need to drop the page cache on attr changes.
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
}

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guard(req, FuseOp::kLookup, parent, true, [&] {
    Result<EntryReply> entry =
        Repo(req).Lookup(parent, name, CallerOf(req, /*with_groups=*/parent == kRootIno));
    if (!entry.ok()) return (void)fuse_reply_err(req, Fail(req, entry.status(), "lookup", parent));
    const fuse_entry_param param = ToEntryParam(*entry);
    fuse_reply_entry(req, &param);
  });
}

void Forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Guard(req, FuseOp::kForget, ino, false, [&] {
    Repo(req).Forget(ino, nlookup);
    fuse_reply_none(req);
  });
}

void ForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  Guard(req, FuseOp::kForget, 0, false, [&] {
    for (size_t i = 0; i < count; ++i) Repo(req).Forget(forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
  });
}

void GetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* /*fi*/) {
  Guard(req, FuseOp::kGetattr, ino, true, [&] {
    if (ino == FUSE_ROOT_ID) TestDelay("root-getattr");  // lifecycle tests hold it here
    Result<AttrReply> attr = Repo(req).GetAttr(ino);
    if (!attr.ok()) return (void)fuse_reply_err(req, Fail(req, attr.status(), "getattr", ino));
    fuse_reply_attr(req, &attr->attr, attr->timeout);
  });
}

void ReadLink(fuse_req_t req, fuse_ino_t ino) {
  Guard(req, FuseOp::kReadlink, ino, true, [&] {
    Result<std::string> target = Repo(req).ReadLink(ino);
    if (!target.ok()) return (void)fuse_reply_err(req, Fail(req, target.status(), "readlink", ino));
    CountBytes(req, FuseOp::kReadlink, target->size());
    fuse_reply_readlink(req, target->c_str());
  });
}

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, FuseOp::kOpen, ino, true, [&] {
    if ((fi->flags & O_ACCMODE) != O_RDONLY) return (void)fuse_reply_err(req, EROFS);
    Result<std::unique_ptr<OpenFile>> file =
        Repo(req).Open(ino, CallerOf(req, /*with_groups=*/false));
    if (!file.ok()) return (void)fuse_reply_err(req, Fail(req, file.status(), "open", ino));
    fi->keep_cache = 1;  // contents never change: keep the page cache across opens
    fi->noflush = 1;
    // The reply frees req: take the repository first.
    MountedRepository& repo = Repo(req);
    fi->fh = repo.open_files().Adopt(std::move(*file));
    if (fuse_reply_open(req, fi) != 0) repo.open_files().Drop(fi->fh);  // the opener went away
  });
}

// Observes a read's time, from the request to its reply, when counting.
class ReadTimer {
 public:
  explicit ReadTimer(MountMetrics& metrics) : metrics_(metrics.enabled() ? &metrics : nullptr) {
    if (metrics_ != nullptr) start_ = std::chrono::steady_clock::now();
  }
  ~ReadTimer() {
    if (metrics_ == nullptr) return;
    const auto elapsed = std::chrono::steady_clock::now() - start_;
    metrics_->ReadLatency(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()));
  }
  ReadTimer(const ReadTimer&) = delete;
  ReadTimer& operator=(const ReadTimer&) = delete;

 private:
  MountMetrics* metrics_;
  std::chrono::steady_clock::time_point start_{};
};

// The reply points into the cached chunks (which the slices keep alive until
// it is written): the kernel copies from them once, with no copy of ours.
void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi) {
  ReadTimer timer(Repo(req).metrics());
  Guard(req, FuseOp::kRead, ino, true, [&] {
    Result<std::vector<ChunkSlice>> slices =
        Repo(req).ReadSlices(FileOf(fi), static_cast<uint64_t>(offset), size);
    if (!slices.ok()) return (void)fuse_reply_err(req, Fail(req, slices.status(), "read", ino));
    thread_local std::vector<iovec> iov;
    iov.clear();
    uint64_t bytes = 0;
    for (const ChunkSlice& slice : *slices) {
      iov.push_back({const_cast<uint8_t*>(slice.chunk->data() + slice.offset), slice.length});
      bytes += slice.length;
    }
    CountBytes(req, FuseOp::kRead, bytes);
    fuse_reply_iov(req, iov.data(), static_cast<int>(iov.size()));
  });
}

void Release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, FuseOp::kRelease, ino, true, [&] {
    Repo(req).open_files().Drop(fi->fh);
    fuse_reply_err(req, 0);
  });
}

void OpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, FuseOp::kOpendir, ino, true, [&] {
    Result<std::shared_ptr<const DirListing>> listing =
        Repo(req).OpenDir(ino, CallerOf(req, /*with_groups=*/ino == kRootIno));
    if (!listing.ok())
      return (void)fuse_reply_err(req, Fail(req, listing.status(), "opendir", ino));
    auto holder = std::make_unique<std::shared_ptr<const DirListing>>(std::move(*listing));
    MountedRepository& repo = Repo(req);  // the reply frees req
    fi->fh = repo.open_dirs().Adopt(std::move(holder));
    fi->cache_readdir = 0;  // listings of / and /<model>/ change; version listings are small
    if (fuse_reply_open(req, fi) != 0) repo.open_dirs().Drop(fi->fh);
  });
}

// Fills one readdir(plus) reply from the listing fixed at opendir. Entry i
// has offset i + 1. Only entries that fit are handed to the kernel, and only
// those count as lookups.
void ReadDirCommon(fuse_req_t req, size_t size, off_t offset, fuse_file_info* fi, bool plus) {
  const DirListing& listing = *ListingOf(fi);
  std::vector<char> buffer(size);
  size_t used = 0;
  for (size_t i = static_cast<size_t>(offset); i < listing.size(); ++i) {
    const DirEntry& entry = listing[i];
    const off_t next = static_cast<off_t>(i + 1);
    size_t need;
    if (plus) {
      fuse_entry_param param = ToEntryParam(entry.reply);
      param.attr.st_ino = entry.ino;
      param.attr.st_mode |= entry.type;
      need = fuse_add_direntry_plus(req, buffer.data() + used, size - used, entry.name.c_str(),
                                    &param, next);
    } else {
      struct stat attr {};
      attr.st_ino = entry.ino;
      attr.st_mode = entry.type;
      need = fuse_add_direntry(req, buffer.data() + used, size - used, entry.name.c_str(), &attr,
                               next);
    }
    if (need > size - used) break;
    used += need;
    if (plus && entry.name != "." && entry.name != "..") Repo(req).Remember(entry);
  }
  CountBytes(req, plus ? FuseOp::kReaddirplus : FuseOp::kReaddir, used);
  fuse_reply_buf(req, buffer.data(), used);
}

void ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi) {
  Guard(req, FuseOp::kReaddir, ino, true, [&] { ReadDirCommon(req, size, offset, fi, false); });
}

void ReadDirPlus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi) {
  Guard(req, FuseOp::kReaddirplus, ino, true, [&] { ReadDirCommon(req, size, offset, fi, true); });
}

void ReleaseDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, FuseOp::kReleasedir, ino, true, [&] {
    Repo(req).open_dirs().Drop(fi->fh);
    fuse_reply_err(req, 0);
  });
}

void GetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Guard(req, FuseOp::kGetxattr, ino, true, [&] {
    Result<std::optional<std::string>> value = Repo(req).GetXattr(ino, name);
    if (!value.ok()) return (void)fuse_reply_err(req, Fail(req, value.status(), "getxattr", ino));
    if (!*value) return (void)fuse_reply_err(req, ENODATA);
    if (size == 0) return (void)fuse_reply_xattr(req, (*value)->size());
    if (size < (*value)->size()) return (void)fuse_reply_err(req, ERANGE);
    CountBytes(req, FuseOp::kGetxattr, (*value)->size());
    fuse_reply_buf(req, (*value)->data(), (*value)->size());
  });
}

void ListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Guard(req, FuseOp::kListxattr, ino, true, [&] {
    Result<std::string> names = Repo(req).ListXattr(ino);
    if (!names.ok()) return (void)fuse_reply_err(req, Fail(req, names.status(), "listxattr", ino));
    if (size == 0) return (void)fuse_reply_xattr(req, names->size());
    if (size < names->size()) return (void)fuse_reply_err(req, ERANGE);
    CountBytes(req, FuseOp::kListxattr, names->size());
    fuse_reply_buf(req, names->data(), names->size());
  });
}

// df: the repository's size and file count (fs/core/statfs.h).
void StatFs(fuse_req_t req, fuse_ino_t ino) {
  Guard(req, FuseOp::kStatfs, ino, true, [&] {
    const struct statvfs numbers = Repo(req).StatFs();
    fuse_reply_statfs(req, &numbers);
  });
}

fuse_lowlevel_ops MakeOperations() {
  fuse_lowlevel_ops ops{};
  ops.init = Init;
  ops.lookup = Lookup;
  ops.forget = Forget;
  ops.forget_multi = ForgetMulti;
  ops.getattr = GetAttr;
  ops.readlink = ReadLink;
  ops.open = Open;
  ops.read = Read;
  ops.release = Release;
  ops.opendir = OpenDir;
  ops.readdir = ReadDir;
  ops.readdirplus = ReadDirPlus;
  ops.releasedir = ReleaseDir;
  ops.getxattr = GetXattr;
  ops.listxattr = ListXattr;
  ops.statfs = StatFs;
  return ops;
}

}  // namespace

const fuse_lowlevel_ops& FuseOperations() {
  static const fuse_lowlevel_ops ops = MakeOperations();
  return ops;
}

}  // namespace re2po::fs
