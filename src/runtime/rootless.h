// Rootless operation: berth-runtime run by a user without root's privileges,
// the container in a user namespace that maps that user (`spec --rootless`).
// What differs from a runtime run by root, and why (runc does the same):
//
//  - state root: $XDG_RUNTIME_DIR/berth-runtime, since only root may write
//    /run (runc: $XDG_RUNTIME_DIR/runc); --root still overrides it.
//  - uid/gid maps (userns.cc): the kernel lets an unprivileged process write
//    a map of one line, its own id, and a gid map only after "deny" went to
//    /proc/<pid>/setgroups (else the container could drop a group it was
//    denied by). Any other map goes through the setuid helpers newuidmap and
//    newgidmap, which check the ranges against /etc/subuid and /etc/subgid.
//    The init stays dumpable until its maps are written: /proc/<pid> of a
//    non-dumpable process belongs to root, and neither we nor the helpers
//    could open its map files.
//  - cgroups (cgroup.h, make_permitted_manager): a hierarchy where the user may
//    not make the container's directory (EACCES, EPERM, EROFS) is left out
//    when linux.cgroupsPath is empty, so the container stays in the caller's
//    cgroup; a cgroup2 tree the user owns by delegation (a systemd user slice)
//    is used. Resources requested of a hierarchy left out are an error: they
//    could not be enforced.
//  - the exe guard (exe_guard.cc): the read-only overlay needs CAP_SYS_ADMIN,
//    so the runtime re-executes from the sealed memfd copy instead.
//  - /dev: device nodes are bind-mounted from the host (mknod is refused in a
//    user namespace); sysfs, when the container shares the host's network
//    namespace, is the host's /sys bound read-only (mounting it is refused);
//    mqueue likewise without an own IPC namespace (devices.cc, mounts.cc).
//  - idmapped mounts need CAP_SYS_ADMIN over the filesystem's user namespace
//    (the initial one for a disk filesystem): refused with a clear error.
#pragma once

#include <string>

#include "base/error.h"
#include "oci/spec.h"

namespace berth::runtime {

// Whether the runtime runs without root's privileges over the host: a
// non-zero euid, or root of a user namespace other than the initial one (a
// runtime started by rootless podman). Then cgroup permission errors are
// skipped as described above.
bool running_rootless();

// The default --root: /run/berth-runtime for root, else
// $XDG_RUNTIME_DIR/berth-runtime; an error when XDG_RUNTIME_DIR is unset or
// not a writable directory.
Result<std::string> default_state_root();

// Whether linux.resources asks for a limit that needs a cgroup of the
// container's own (device rules aside: runc ignores them for a rootless
// container, whose device nodes are the host's, bind-mounted).
bool resources_need_cgroup(const oci::Resources& r);

inline constexpr const char* kRootStateRoot = "/run/berth-runtime";

}  // namespace berth::runtime
