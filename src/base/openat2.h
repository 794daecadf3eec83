// openat2(2), the kernel's confined path walk (RESOLVE_IN_ROOT, RESOLVE_BENEATH,
// RESOLVE_NO_SYMLINKS...), shared by the runtime (container rootfs) and the
// image layer (layer extraction).
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "base/fd.h"

namespace berth {

// openat2 with O_CLOEXEC added, retrying the EAGAIN that RESOLVE_IN_ROOT and
// RESOLVE_BENEATH return when a concurrent rename could have let ".." escape
// (the documented answer). On failure the fd is invalid and errno is set.
UniqueFd openat2_fd(int dirfd, const char* path, int flags, mode_t mode, uint64_t resolve);

}  // namespace berth
