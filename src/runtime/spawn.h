// Spawning a container's init: clone3 into the new namespaces, through an
// intermediate process when namespaces are joined or a time namespace is
// made (setns and unshare(CLONE_NEWTIME) only affect later children). The
// init's parent is always the caller (CLONE_PARENT), so it can be waited for.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "base/error.h"
#include "base/fd.h"
#include "runtime/init.h"

namespace berth::runtime {

// clone3 without a new stack (fork semantics) with `flags` (CLONE_NEW*,
// CLONE_PARENT); born in `cgroup2_dir` (CLONE_INTO_CGROUP) when it is a valid
// fd. Returns what clone3 returns: the pid, 0 in the child, -1 with errno.
pid_t clone_process(uint64_t flags, const UniqueFd* cgroup2_dir = nullptr);

// Starts container_init(ctx) in a new process; `parent_end` is the runtime's
// end of ctx.channel. Returns the init's pid (in the caller's pid namespace).
Result<pid_t> spawn_init(const InitContext& ctx, const Channel& parent_end);

}  // namespace berth::runtime
