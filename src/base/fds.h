// Which file descriptors a container process inherits. Security rule (issue 2):
// every fd not passed on on purpose is closed before exec, so no runtime fd
// (state dir, cgroup dir, host-side sockets) ever reaches a container.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

namespace berth {

// Closes every fd >= `lowest` except those in `keep` (close_range(2), or
// /proc/self/fd where that is missing). Allocation-free: safe between clone and exec.
Result<> close_fds_from(int lowest, const std::vector<int>& keep = {});

// Sets FD_CLOEXEC on every fd >= `lowest` except those in `keep`, and clears it
// on the kept ones: the kernel then closes the rest at execve, so fds the
// caller still needs until exec (a sync pipe whose closing reports a
// successful exec) keep working. Allocation-free like close_fds_from.
Result<> mark_cloexec_from(int lowest, const std::vector<int>& keep = {});

// Sets or clears FD_CLOEXEC on one fd.
Result<> set_cloexec(int fd, bool on);

// The fds a container process gets beyond stdio, runc's way: the systemd
// socket-activation fds (LISTEN_FDS, only when LISTEN_PID names this process)
// first, then --preserve-fds more, all contiguous from 3.
struct InheritedFds {
  std::vector<int> keep;         // 3 .. 3+listen_fds+preserve_fds-1
  int listen_fds = 0;            // how many of them came from LISTEN_FDS
  std::vector<std::string> env;  // to append to process.env: LISTEN_FDS=n, LISTEN_PID=1
};

// Pure planner (no syscalls): `listen_fds`/`listen_pid` are the environment's
// values (nullopt when unset), `self` the caller's pid.
Result<InheritedFds> plan_inherited_fds(int preserve_fds, const std::optional<std::string>& listen_fds,
                                        const std::optional<std::string>& listen_pid, pid_t self);

// plan_inherited_fds with this process's environment and pid, checking every
// planned fd is open (runc fails on a closed one too; a closed number could
// later be reused by one of our own fds and leak into the container). Call it
// first thing in main(), before the runtime opens any fd of its own.
Result<InheritedFds> prepare_inherited_fds(int preserve_fds);

}  // namespace berth
