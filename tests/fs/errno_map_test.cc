// The one map from Status to errno, at the FUSE edge.
#include "fs/fuse/errno_map.h"

#include <cerrno>

#include "tests/testutil/testutil.h"

namespace re2po::fs {
namespace {

TEST(ErrnoMapTest, EveryStatusHasItsErrno) {
  EXPECT_EQ(ErrnoOf(StatusCode::kOk), 0);
  EXPECT_EQ(ErrnoOf(StatusCode::kNotFound), ENOENT);
  EXPECT_EQ(ErrnoOf(StatusCode::kCorruption), EIO);
  EXPECT_EQ(ErrnoOf(StatusCode::kIOError), EIO);
  EXPECT_EQ(ErrnoOf(StatusCode::kNoSpace), ENOSPC);
  EXPECT_EQ(ErrnoOf(StatusCode::kInvalidArgument), EINVAL);
  EXPECT_EQ(ErrnoOf(StatusCode::kPermissionDenied), EACCES);
  EXPECT_EQ(ErrnoOf(StatusCode::kUnsupported), ENOTSUP);
  EXPECT_EQ(ErrnoOf(StatusCode::kBusy), EAGAIN);
  EXPECT_EQ(ErrnoOf(StatusCode::kAlreadyExists), EEXIST);
  EXPECT_EQ(ToErrno(Status::Corruption("chunk abc: bad"), "read", 7), EIO);
}

}  // namespace
}  // namespace re2po::fs
