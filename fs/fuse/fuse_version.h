// The libfuse API level fs/ is written against; include this, never
// <fuse_lowlevel.h> directly.
#pragma once

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif
#include <fuse_lowlevel.h>
