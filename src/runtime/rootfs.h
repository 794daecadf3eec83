// The container's filesystem view: runs in the container's new mount namespace,
// between clone and exec (no exceptions; errors are values). Every mount target
// is resolved inside the rootfs (openat2 RESOLVE_IN_ROOT), never through a
// symlink that leaves it; /proc and /sys targets that are symlinks are refused.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "oci/spec.h"
#include "runtime/cgroup.h"

namespace berth::runtime {

struct RootfsOptions {
  std::string rootfs;       // absolute host path of spec.root.path (resolved against the bundle)
  std::string bundle;       // bundle directory, for relative bind sources
  bool no_pivot = false;    // --no-pivot: MS_MOVE + chroot instead of pivot_root
  bool new_user_ns = false; // the container has its own user namespace (devices get bind-mounted)
  bool new_cgroup_ns = false;
  const cgroup::Layout* cgroup_layout = nullptr;  // for "cgroup" mounts
  // Hierarchy mount point -> host directory of the container's cgroup
  // (cgroup::Manager::paths()): what a "cgroup" mount binds when the container
  // has no cgroup namespace. Empty: read from /proc/self/cgroup (the child
  // must already be in its cgroup).
  std::map<std::string, std::string> cgroup_paths;
  // Called before a "cgroup" mount: the runtime makes the container's v1
  // cgroups while the init mounts its rootfs, so the init waits here for them.
  std::function<Result<>()> before_cgroup_mount;
  // prepare_idmapped_mounts()'s result, by index of spec.mounts (empty: none).
  const std::vector<UniqueFd>* idmapped_mounts = nullptr;
};

// Run by the runtime before the init exists (idmapped_mounts.cc): for each
// idmapped bind mount of the config (mounts[].uidMappings/gidMappings, or the
// "idmap"/"ridmap" options), a detached copy of its source carrying the
// mapping, which the init attaches at the destination. Indexed like
// spec.mounts, an invalid fd for other mounts; empty when there is none.
// Errors name the mount's destination; a kernel or filesystem without
// idmapped mounts (EINVAL, ENOSYS) is named as such.
Result<std::vector<UniqueFd>> prepare_idmapped_mounts(const oci::Spec& spec, const std::string& bundle);

// Everything before pivot_root: rootfs propagation and bind, config mounts in
// order, /dev (default devices, pts/ptmx, shm, fd symlinks, config devices).
Result<> prepare_rootfs(const oci::Spec& spec, const RootfsOptions& opts);

// pivot_root (or MS_MOVE+chroot with no_pivot) into opts.rootfs; cwd becomes "/".
Result<> enter_rootfs(const RootfsOptions& opts);

// After pivot: hostname/domainname, sysctl, readonlyPaths, maskedPaths, a
// missing process.cwd created (mkdir -p, as runc), readonly root, final
// rootfsPropagation (in that order: /proc/sys is written before it becomes
// read-only, cwd is made before "/" does).
Result<> finalize_rootfs(const oci::Spec& spec);

// sethostname/setdomainname when the config sets them (finalize_rootfs calls
// it; exposed for a container that has a UTS namespace but no mount work).
Result<> apply_hostname(const oci::Spec& spec);
}  // namespace berth::runtime
