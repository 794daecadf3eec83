// The order of the rootfs work, after runc's prepareRoot/prepareRootfs/
// finalizeRootfs: propagation of "/", the rootfs bind, config mounts, /dev;
// pivot_root; then sysctl, readonlyPaths, maskedPaths, readonly root.
#include "runtime/rootfs.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "base/log.h"
#include "runtime/mount_options.h"
#include "runtime/mountinfo.h"
#include "runtime/path.h"
#include "runtime/rootfs_internal.h"

namespace berth::runtime {
namespace {

using detail::RootfsContext;

Result<unsigned long> root_propagation(const oci::Spec& spec) {
  const std::string value = spec.linux ? spec.linux->rootfs_propagation : std::string();
  auto flag = parse_propagation(value);
  if (!flag) {
    return error("linux.rootfsPropagation: \"{}\" is not one of shared, slave, private, unbindable", value);
  }
  // Always recursive: a non-recursive change of "/" would leave the host's
  // submounts shared, and the container's mounts would reach the host.
  return *flag == 0 ? 0UL : *flag | MS_REC;
}

// pivot_root refuses a new root whose parent mount is shared, and a bind mount
// on a shared parent would propagate out: make that parent private (runc's
// rootfsParentMountPrivate). Only a "shared" rootfsPropagation leaves it so.
Result<> make_rootfs_parent_private(const std::string& rootfs) {
  int fd = ::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sys_error(errno, "open rootfs \"{}\"", rootfs);
  UniqueFd dir(fd);
  struct statx stx {};
  if (::statx(dir.get(), "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0) return sys_error(errno, "statx \"{}\"", rootfs);
  BERTH_TRY_ASSIGN(mounts, read_mountinfo());
  for (const auto& m : mounts) {
    if (static_cast<uint64_t>(m.mount_id) != stx.stx_mnt_id) continue;
    bool shared = false;
    for (const auto& f : m.optional_fields) shared = shared || f.starts_with("shared:");
    if (!shared) return {};
    return detail::sys_mount(nullptr, m.mount_point, nullptr, MS_PRIVATE, nullptr,
                             fmt::format("make \"{}\" private", m.mount_point));
  }
  return error("the mount of rootfs \"{}\" is not in /proc/self/mountinfo", rootfs);
}

}  // namespace

namespace detail {

std::string selinux_mount_label(const oci::Spec& spec) {
  if (!spec.linux || spec.linux->mount_label.empty()) return "";
  if (::access("/sys/fs/selinux/enforce", F_OK) != 0) {
    log::debug("linux.mountLabel \"{}\" ignored: SELinux is not enabled", spec.linux->mount_label);
    return "";
  }
  return fmt::format("context=\"{}\"", spec.linux->mount_label);
}

}  // namespace detail

Result<> prepare_rootfs(const oci::Spec& spec, const RootfsOptions& opts) {
  if (opts.rootfs.empty() || opts.rootfs.front() != '/') {
    return error("rootfs path \"{}\" is not absolute", opts.rootfs);
  }
  BERTH_TRY_ASSIGN(propagation, root_propagation(spec));
  // Nothing done below may reach the host: slave (the default, as runc) or
  // private, recursively, from "/".
  const unsigned long root_flags = propagation != 0 ? propagation : MS_SLAVE | MS_REC;
  BERTH_TRY(detail::sys_mount(nullptr, "/", nullptr, root_flags, nullptr, "set the propagation of \"/\""));
  // After a recursive slave, private or unbindable change no mount is shared
  // any more: only "shared" needs the search of mountinfo (0.1 ms).
  if (root_flags & MS_SHARED) BERTH_TRY(make_rootfs_parent_private(opts.rootfs));
  // The rootfs becomes a mount of its own: pivot_root needs one.
  BERTH_TRY(detail::sys_mount(opts.rootfs.c_str(), opts.rootfs, nullptr, MS_BIND | MS_REC, nullptr,
                              fmt::format("bind the rootfs \"{}\"", opts.rootfs)));

  int fd = ::open(opts.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sys_error(errno, "open rootfs \"{}\"", opts.rootfs);
  RootfsContext ctx{spec, opts, UniqueFd(fd), {}, detail::selinux_mount_label(spec), {}};
  char buf[4096];
  ssize_t n = ::readlink(fd_path(ctx.root).c_str(), buf, sizeof buf - 1);
  if (n <= 0) return sys_error(errno, "resolve rootfs \"{}\"", opts.rootfs);
  ctx.root_path.assign(buf, static_cast<size_t>(n));

  const std::vector<UniqueFd>* idmapped = opts.idmapped_mounts;
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const UniqueFd* tree = idmapped && i < idmapped->size() ? &(*idmapped)[i] : nullptr;
    BERTH_TRY(detail::mount_config_entry(ctx, spec.mounts[i], tree));
  }
  BERTH_TRY(detail::setup_dev(ctx));
  // tmpfs and /dev mounts asked read-only, now filled.
  for (const auto& d : ctx.deferred_readonly) BERTH_TRY(detail::remount_bind(d.mount, d.flags, d.destination));
  return {};
}

Result<> enter_rootfs(const RootfsOptions& opts) {
  int nfd = ::open(opts.rootfs.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (nfd < 0) return sys_error(errno, "open rootfs \"{}\"", opts.rootfs);
  UniqueFd new_root(nfd);
  if (::fchdir(new_root.get()) < 0) return sys_error(errno, "chdir to rootfs \"{}\"", opts.rootfs);

  if (opts.no_pivot) {
    // runc's msMoveRoot: move the rootfs over "/" and chroot into it. The old
    // root's mounts stay below, out of reach of the chrooted process.
    BERTH_TRY(detail::sys_mount(".", "/", nullptr, MS_MOVE, nullptr, "move the rootfs onto \"/\""));
    if (::chroot(".") < 0) return sys_error(errno, "chroot into the rootfs");
  } else {
    int ofd = ::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (ofd < 0) return sys_error(errno, "open \"/\"");
    UniqueFd old_root(ofd);
    // pivot_root(".", "."): the old root ends up stacked under the new one,
    // where it is detached; no temporary directory is needed.
    if (::syscall(SYS_pivot_root, ".", ".") < 0) return sys_error(errno, "pivot_root into \"{}\"", opts.rootfs);
    if (::fchdir(old_root.get()) < 0) return sys_error(errno, "chdir to the old root");
    // Slave first, so that unmounting the old root does not propagate to the host.
    BERTH_TRY(detail::sys_mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr, "make the old root a slave"));
    if (::umount2(".", MNT_DETACH) < 0) return sys_error(errno, "detach the old root");
  }
  if (::chdir("/") < 0) return sys_error(errno, "chdir to \"/\"");
  return {};
}

Result<> apply_hostname(const oci::Spec& spec) {
  if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) < 0) {
    return sys_error(errno, "set hostname \"{}\"", spec.hostname);
  }
  if (!spec.domainname.empty() && ::setdomainname(spec.domainname.data(), spec.domainname.size()) < 0) {
    return sys_error(errno, "set domainname \"{}\"", spec.domainname);
  }
  return {};
}

Result<> finalize_rootfs(const oci::Spec& spec) {
  BERTH_TRY(apply_hostname(spec));
  if (spec.linux) {
    // Before readonlyPaths: /proc/sys is usually one of them.
    BERTH_TRY(detail::apply_sysctl(spec.linux->sysctl));
    BERTH_TRY(detail::apply_readonly_paths(spec.linux->readonly_paths));
    BERTH_TRY(detail::apply_masked_paths(spec.linux->masked_paths, detail::selinux_mount_label(spec)));
  }
  // A missing process.cwd is created, as runc does, while "/" is still writable.
  if (spec.process && !spec.process->cwd.empty()) {
    int rfd = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0) return sys_error(errno, "open \"/\"");
    UniqueFd root(rfd);
    BERTH_TRY(with_context(mkdir_all_in_root(root, spec.process->cwd), "create process.cwd"));
  }
  if (spec.root && spec.root->readonly) {
    int fd = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return sys_error(errno, "open \"/\"");
    UniqueFd root(fd);
    // A bind remount through the path: /proc may be missing here.
    const unsigned long flags = detail::mount_flags_of(root) | MS_RDONLY;
    if (::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | flags, nullptr) < 0) {
      return sys_error(errno, "remount \"/\" read-only");
    }
  }
  // The rootfsPropagation asked for, now that "/" is the container's root
  // (before pivot_root it would have changed the host's mount).
  BERTH_TRY_ASSIGN(propagation, root_propagation(spec));
  if (propagation != 0) {
    BERTH_TRY(detail::sys_mount(nullptr, "/", nullptr, propagation, nullptr, "set the rootfs propagation"));
  }
  return {};
}

}  // namespace berth::runtime
