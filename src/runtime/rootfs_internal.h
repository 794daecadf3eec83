// Internals shared by the rootfs files (rootfs.cc, mounts.cc, cgroup_mount.cc,
// devices.cc, masked_paths.cc, sysctl.cc). Not part of the runtime's API.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "oci/spec.h"
#include "runtime/mount_options.h"
#include "runtime/rootfs.h"

namespace berth::runtime::detail {

// State of one prepare_rootfs run.
struct RootfsContext {
  const oci::Spec& spec;
  const RootfsOptions& opts;
  UniqueFd root;  // O_PATH fd of the rootfs bind mount
  std::string root_path;  // where `root` is on the host (canonical), to name resolved targets
  std::string mount_label;  // non-empty only when SELinux is enabled
  // Mounts made writable to be filled (tmpfs, /dev) and made read-only at the
  // end of prepare_rootfs: O_PATH fds of the mounts' roots, with their flags.
  struct DeferredReadonly {
    UniqueFd mount;
    unsigned long flags;
    std::string destination;
  };
  std::vector<DeferredReadonly> deferred_readonly;
};

// mount(2) with an error naming `what`. `target` is usually fd_path() of an O_PATH fd.
Result<> sys_mount(const char* source, const std::string& target, const char* type, unsigned long flags,
                   const char* data, std::string_view what);

// The mount flags of the mount holding `fd` (statfs f_flags as MS_*).
unsigned long mount_flags_of(const UniqueFd& fd);

// MS_REMOUNT|MS_BIND with `flags` on the mount whose root `mount` is, keeping
// what the kernel locks (a source's nosuid/nodev/noexec/ro/atime in a user
// namespace) and, when `flags` names no atime mode, the current atime mode.
Result<> remount_bind(const UniqueFd& mount, unsigned long flags, std::string_view what);

// One config mount, in order; `idmapped` is its prepared idmapped tree, if any.
Result<> mount_config_entry(RootfsContext& ctx, const oci::Mount& m, const UniqueFd* idmapped);
// Whether a config mount asks for an idmapped mount (mappings or "idmap"/"ridmap").
bool is_idmapped(const oci::Mount& m, const MountOptions& o);
// Attaches an idmapped tree made by prepare_idmapped_mounts at `dest`.
Result<> mount_idmapped(RootfsContext& ctx, const oci::Mount& m, const MountOptions& o, const std::string& dest,
                        const UniqueFd& tree);
// Refuses a destination that resolves inside /proc, but for /proc itself and
// a few files (CVE-2019-16884); `source`, when on procfs, is allowed.
Result<> check_proc_destination(const RootfsContext& ctx, const oci::Mount& m, const UniqueFd& target,
                                const UniqueFd* source);
// A "cgroup" type mount (cgroup_mount.cc).
Result<> mount_cgroup(RootfsContext& ctx, const oci::Mount& m, const MountOptions& o, const std::string& dest);
// Applies the "propagation" options and the recursive attributes of `o` to the
// mount now at `dest`.
Result<> apply_mount_extras(RootfsContext& ctx, const MountOptions& o, const std::string& dest);
// A bind mount's two ends: its source, opened O_PATH, and its target made
// inside the root (a directory for a directory, an empty file for anything else).
struct BindEnds {
  UniqueFd source;
  UniqueFd target;
};
Result<BindEnds> open_bind_ends(RootfsContext& ctx, const std::string& source, const std::string& dest,
                                const char* what);
// Bind-mounts host directory `source` (recursively) at `dest` inside the rootfs
// and applies `flags` with a bind remount. Returns the new mount's O_PATH fd.
Result<UniqueFd> bind_host_path(RootfsContext& ctx, const std::string& source, const std::string& dest,
                                bool recursive, unsigned long flags);

// Copies the content of directory `from` into `to` (tmpcopyup): files,
// directories, symlinks, device nodes and fifos, with their mode and owner.
Result<> copy_tree(const UniqueFd& from, const UniqueFd& to);

// /dev: default and config devices, ptmx, fd symlinks (devices.cc).
Result<> setup_dev(RootfsContext& ctx);

// After pivot (masked_paths.cc, sysctl.cc).
Result<> apply_readonly_paths(const std::vector<std::string>& paths);
Result<> apply_masked_paths(const std::vector<std::string>& paths, const std::string& mount_label);
Result<> apply_sysctl(const std::map<std::string, std::string>& sysctl);

// "context=..." for mountLabel when SELinux is enabled, else "".
std::string selinux_mount_label(const oci::Spec& spec);
// Appends `extra` to comma-separated mount data.
std::string join_data(std::string data, const std::string& extra);

}  // namespace berth::runtime::detail
