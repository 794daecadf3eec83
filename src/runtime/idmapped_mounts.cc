// Idmapped bind mounts: mounts[].uidMappings/gidMappings, or the "idmap" and
// "ridmap" options (runtime-spec 1.2; with no mappings of their own they take
// the container's). mount_setattr(MOUNT_ATTR_IDMAP) needs CAP_SYS_ADMIN over
// the source filesystem's user namespace, which an init in a user namespace
// lacks, and works only on a mount that was never attached: so the runtime
// makes each one before the init exists, a detached copy of the source
// (open_tree OPEN_TREE_CLONE) with the mapping applied, and the init, which
// inherits the fd, attaches it at its destination inside the rootfs
// (move_mount onto an openat2 RESOLVE_IN_ROOT target), as runc 1.2 does.
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <cerrno>

#include "base/log.h"
#include "runtime/mount_options.h"
#include "runtime/path.h"
#include "runtime/rootfs.h"
#include "runtime/rootfs_internal.h"
#include "runtime/rootless.h"
#include "runtime/userns.h"

namespace berth::runtime {
namespace {

constexpr const char* kRootlessRefusal =
    "a rootless runtime may not make idmapped mounts (that needs CAP_SYS_ADMIN over the source filesystem's "
    "user namespace, the initial one for a disk filesystem)";

bool same_maps(const std::vector<oci::IdMapping>& a, const std::vector<oci::IdMapping>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].container_id != b[i].container_id || a[i].host_id != b[i].host_id || a[i].size != b[i].size)
      return false;
  }
  return true;
}

// A name for the error when the filesystem refuses: the common ones, else the magic.
std::string fs_name(const UniqueFd& fd) {
  struct statfs st {};
  if (::fstatfs(fd.get(), &st) < 0) return "?";
  switch (static_cast<unsigned long>(st.f_type)) {
    case EXT4_SUPER_MAGIC: return "ext4";
    case TMPFS_MAGIC: return "tmpfs";
    case XFS_SUPER_MAGIC: return "xfs";
    case BTRFS_SUPER_MAGIC: return "btrfs";
    case OVERLAYFS_SUPER_MAGIC: return "overlay";
    case PROC_SUPER_MAGIC: return "proc";
    case SYSFS_MAGIC: return "sysfs";
    case NFS_SUPER_MAGIC: return "nfs";
    default: return fmt::format("filesystem magic {:#x}", static_cast<unsigned long>(st.f_type));
  }
}

struct CachedUserns {
  const std::vector<oci::IdMapping>* uids;
  const std::vector<oci::IdMapping>* gids;
  UniqueFd fd;
};

Result<UniqueFd> prepare_one(const oci::Spec& spec, const oci::Mount& m, const MountOptions& o,
                             const std::string& bundle, size_t index, std::vector<CachedUserns>& cache) {
  if (!o.bind)
    return error("idmapped mounts are bind mounts only (runtime-spec), not type \"{}\"", m.type);
  const std::vector<oci::IdMapping>* uids = &m.uid_mappings;
  const std::vector<oci::IdMapping>* gids = &m.gid_mappings;
  std::string field = fmt::format("mounts[{}]", index);
  if (uids->empty() && gids->empty()) {
    // "idmap"/"ridmap" alone: the container's own mappings.
    if (!spec.linux || spec.linux->uid_mappings.empty() || spec.linux->gid_mappings.empty())
      return error("\"{}\" without uidMappings and gidMappings takes the container's user namespace mappings, "
                   "and linux.uidMappings/gidMappings are empty",
                   o.ridmap ? "ridmap" : "idmap");
    uids = &spec.linux->uid_mappings;
    gids = &spec.linux->gid_mappings;
    field = "linux";
  }
  if (uids->empty() || gids->empty())
    return error("an idmapped mount needs both uidMappings and gidMappings");

  std::string source = m.source;
  if (source.empty()) return error("bind mount without a source");
  if (source.front() != '/') source = bundle + "/" + source;
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (o.recursive ? AT_RECURSIVE : 0);
  UniqueFd tree(::open_tree(AT_FDCWD, source.c_str(), flags));
  if (!tree && errno == EPERM && running_rootless())
    return sys_error(EPERM, "copy bind source \"{}\" for an idmapped mount: {}", source, kRootlessRefusal);
  if (!tree) return sys_error(errno, "open_tree bind source \"{}\"", source);

  const UniqueFd* userns = nullptr;
  for (const auto& c : cache)
    if (same_maps(*c.uids, *uids) && same_maps(*c.gids, *gids)) userns = &c.fd;
  if (!userns) {
    BERTH_TRY_ASSIGN(fd, make_userns_fd(*uids, *gids, field));
    cache.push_back({uids, gids, std::move(fd)});
    userns = &cache.back().fd;
  }

  struct mount_attr attr {};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(userns->get());
  if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH | (o.ridmap ? AT_RECURSIVE : 0), &attr, sizeof attr) < 0) {
    int err = errno;
    if (err == EINVAL || err == ENOSYS || err == EOPNOTSUPP)
      return sys_error(err, "idmapped mount of \"{}\": the kernel or the filesystem ({}) does not support "
                            "idmapped mounts{}",
                       source, fs_name(tree), o.ridmap ? " (ridmap: every submount must)" : "");
    if (err == EPERM && running_rootless())
      return sys_error(err, "idmapped mount of \"{}\" ({}): {}", source, fs_name(tree), kRootlessRefusal);
    return sys_error(err, "idmapped mount of \"{}\" ({})", source, fs_name(tree));
  }
  return tree;
}

}  // namespace

Result<std::vector<UniqueFd>> prepare_idmapped_mounts(const oci::Spec& spec, const std::string& bundle) {
  std::vector<UniqueFd> trees;
  std::vector<CachedUserns> cache;
  bool any = false;
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const auto& m = spec.mounts[i];
    const MountOptions o = parse_mount_options(m.options, m.type);
    trees.emplace_back();
    if (!detail::is_idmapped(m, o)) continue;
    auto tree = prepare_one(spec, m, o, bundle, i, cache);
    if (!tree)
      return std::unexpected(std::move(tree).error().context(
          fmt::format("mount \"{}\"", clean_path("/" + m.destination))));
    trees.back() = std::move(*tree);
    any = true;
  }
  if (!any) trees.clear();
  return trees;
}

namespace detail {

bool is_idmapped(const oci::Mount& m, const MountOptions& o) {
  return !m.uid_mappings.empty() || !m.gid_mappings.empty() || o.idmap || o.ridmap;
}

Result<> mount_idmapped(RootfsContext& ctx, const oci::Mount& m, const MountOptions& o, const std::string& dest,
                        const UniqueFd& tree) {
  struct stat st {};
  if (::fstat(tree.get(), &st) < 0) return sys_error(errno, "stat idmapped mount of \"{}\"", m.source);
  UniqueFd target;
  if (S_ISDIR(st.st_mode)) {
    BERTH_TRY_ASSIGN(dir, mkdir_all_in_root(ctx.root, dest));
    target = std::move(dir);
  } else {
    BERTH_TRY_ASSIGN(file, create_file_in_root(ctx.root, dest));
    target = std::move(file);
  }
  BERTH_TRY(check_proc_destination(ctx, m, target, &tree));
  if (::move_mount(tree.get(), "", target.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return sys_error(errno, "attach idmapped mount of \"{}\" on \"{}\"", m.source, dest);
  // As for any bind mount: ro, nosuid... take a remount.
  if ((o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) != 0) {
    BERTH_TRY_ASSIGN(mounted, open_in_root(ctx.root, dest, O_PATH));
    BERTH_TRY(remount_bind(mounted, o.flags, dest));
  }
  return {};
}

}  // namespace detail
}  // namespace berth::runtime
