// Config mounts, in order: bind mounts (with their remount pass), filesystems
// (tmpfs, proc, sysfs, mqueue, devpts, any type), propagation and recursive
// attributes. Every target is resolved inside the rootfs (openat2
// RESOLVE_IN_ROOT) and mounted through /proc/self/fd/N of an O_PATH fd, so a
// symlink swapped in later cannot redirect it (CVE-2021-30465).
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <string_view>

#include "base/log.h"
#include "runtime/path.h"
#include "runtime/rootfs_internal.h"

#ifndef ST_NOSYMFOLLOW
#define ST_NOSYMFOLLOW 0x2000
#endif

namespace berth::runtime::detail {
namespace {

constexpr unsigned long kAtimeFlags = MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME;
constexpr unsigned long kLockableFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOSYMFOLLOW;

// Files of /proc a container may have a bind mount on (lxcfs and friends);
// anything else under /proc could hide a security-relevant file (runc's
// checkProcMount, CVE-2019-16884).
constexpr std::array<std::string_view, 10> kProcBindAllowed = {
    "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo",   "/proc/stat",    "/proc/swaps",
    "/proc/uptime",  "/proc/loadavg",   "/proc/slabinfo",  "/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
};

bool is_under(std::string_view path, std::string_view dir) {
  return path == dir || (path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/');
}

// The container path an O_PATH fd inside the rootfs resolved to.
std::string container_path_of(const RootfsContext& ctx, const UniqueFd& fd) {
  char buf[4096];
  ssize_t n = ::readlink(fd_path(fd).c_str(), buf, sizeof buf - 1);
  if (n <= 0) return "";
  std::string_view host(buf, static_cast<size_t>(n));
  std::string_view root(ctx.root_path);
  if (root == "/") return std::string(host);
  if (host == root) return "/";
  if (!is_under(host, root)) return "";
  return std::string(host.substr(root.size()));
}

}  // namespace

Result<> check_proc_destination(const RootfsContext& ctx, const oci::Mount& m, const UniqueFd& target,
                                const UniqueFd* source) {
  std::string resolved = container_path_of(ctx, target);
  if (!is_under(resolved, "/proc")) return {};
  if (resolved == "/proc" && m.type == "proc") return {};
  for (std::string_view allowed : kProcBindAllowed) {
    if (resolved == allowed) return {};
  }
  struct statfs sfs {};
  if (source && ::fstatfs(source->get(), &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC) return {};
  return error("\"{}\" resolves to \"{}\" inside /proc: only /proc itself and a few files such as "
               "/proc/cpuinfo may be mount destinations there",
               m.destination, resolved);
}

namespace {

// proc and sysfs on a symlink could be redirected onto a host path (CVE-2019-19921).
Result<> refuse_symlink_destination(const RootfsContext& ctx, const std::string& dest, const std::string& type) {
  auto fd = open_in_root(ctx.root, dest, O_PATH | O_NOFOLLOW);
  if (!fd) return {};  // missing: created below as a directory
  struct stat st {};
  if (::fstat(fd->get(), &st) < 0) return sys_error(errno, "stat \"{}\"", dest);
  if (S_ISLNK(st.st_mode)) {
    return error("\"{}\" is a symlink: refusing to mount {} on it", dest, type);
  }
  if (!S_ISDIR(st.st_mode)) return error("\"{}\" is not a directory: cannot mount {} on it", dest, type);
  return {};
}

Result<> mount_bind(RootfsContext& ctx, const oci::Mount& m, const MountOptions& o, const std::string& dest) {
  if (m.source.empty()) return error("bind mount without a source");
  std::string source = m.source;
  if (source.front() != '/') source = ctx.opts.bundle + "/" + source;
  BERTH_TRY_ASSIGN(ends, open_bind_ends(ctx, source, dest, "bind source "));
  UniqueFd& src = ends.source;
  UniqueFd& target = ends.target;
  BERTH_TRY(check_proc_destination(ctx, m, target, &src));
  BERTH_TRY(sys_mount(fd_path(src).c_str(), fd_path(target), nullptr, MS_BIND | (o.recursive ? MS_REC : 0),
                      nullptr, fmt::format("bind \"{}\" on \"{}\"", source, dest)));
  // A bind mount ignores every flag but MS_REC: ro, nosuid... need a remount.
  if ((o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) != 0) {
    BERTH_TRY_ASSIGN(mounted, open_in_root(ctx.root, dest, O_PATH));
    BERTH_TRY(remount_bind(mounted, o.flags, dest));
  }
  return {};
}

Result<> mount_filesystem(RootfsContext& ctx, const oci::Mount& m, const MountOptions& o, const std::string& dest) {
  if (m.type.empty()) return error("no type, and not a bind mount (no \"bind\" or \"rbind\" option)");
  BERTH_TRY_ASSIGN(target, mkdir_all_in_root(ctx.root, dest));
  BERTH_TRY(check_proc_destination(ctx, m, target, nullptr));

  unsigned long flags = o.flags;
  // tmpfs and /dev are filled after mounting (devices, nested mount points,
  // copy-up): they become read-only at the end of prepare_rootfs, as in runc.
  const bool defer_ro = (flags & MS_RDONLY) && (m.type == "tmpfs" || dest == "/dev");
  if (defer_ro) flags &= ~MS_RDONLY;
  std::string data = o.data;
  if (m.type != "proc" && m.type != "sysfs") data = join_data(std::move(data), ctx.mount_label);
  const std::string source = m.source.empty() ? m.type : m.source;

  UniqueFd lower;  // the directory the tmpfs covers, for tmpcopyup
  if (o.tmpcopyup) {
    if (m.type != "tmpfs") return error("\"tmpcopyup\" needs a tmpfs mount, not {}", m.type);
    int fd = ::openat(target.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return sys_error(errno, "open \"{}\" for tmpcopyup", dest);
    lower.reset(fd);
  }

  auto r = sys_mount(source.c_str(), fd_path(target), m.type.c_str(), flags, data.empty() ? nullptr : data.c_str(),
                     fmt::format("mount {} on \"{}\"", m.type, dest));
  if (!r && r.error().code() == EPERM && ctx.opts.new_user_ns && (m.type == "sysfs" || m.type == "mqueue")) {
    // A user namespace without its own network (IPC) namespace may not mount
    // sysfs (mqueue): give it the host's instead, as runc and crun do.
    const std::string host = m.type == "sysfs" ? "/sys" : "/dev/mqueue";
    log::debug("mount {} on \"{}\": permission denied, binding {} instead", m.type, dest, host);
    BERTH_TRY_ASSIGN(bound, bind_host_path(ctx, host, dest, true, flags | (m.type == "sysfs" ? MS_RDONLY : 0)));
    (void)bound;
    return {};
  }
  BERTH_TRY(std::move(r));

  if (!defer_ro && !lower) return {};
  BERTH_TRY_ASSIGN(mounted, open_in_root(ctx.root, dest, O_PATH | O_DIRECTORY));
  if (lower) {
    int fd = ::openat(mounted.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return sys_error(errno, "open tmpfs \"{}\"", dest);
    UniqueFd upper(fd);
    BERTH_TRY(with_context(copy_tree(lower, upper), fmt::format("tmpcopyup \"{}\"", dest)));
  }
  if (defer_ro) ctx.deferred_readonly.push_back({std::move(mounted), flags | MS_RDONLY, dest});
  return {};
}

}  // namespace

Result<BindEnds> open_bind_ends(RootfsContext& ctx, const std::string& source, const std::string& dest,
                                const char* what) {
  int sfd = ::open(source.c_str(), O_PATH | O_CLOEXEC);
  if (sfd < 0) return sys_error(errno, "open {}\"{}\"", what, source);
  BindEnds ends{UniqueFd(sfd), {}};
  struct stat st {};
  if (::fstat(ends.source.get(), &st) < 0) return sys_error(errno, "stat {}\"{}\"", what, source);
  if (S_ISDIR(st.st_mode)) {
    BERTH_TRY_ASSIGN(dir, mkdir_all_in_root(ctx.root, dest));
    ends.target = std::move(dir);
  } else {
    BERTH_TRY_ASSIGN(file, create_file_in_root(ctx.root, dest));
    ends.target = std::move(file);
  }
  return ends;
}

std::string join_data(std::string data, const std::string& extra) {
  if (extra.empty()) return data;
  if (!data.empty()) data += ',';
  data += extra;
  return data;
}

Result<> sys_mount(const char* source, const std::string& target, const char* type, unsigned long flags,
                   const char* data, std::string_view what) {
  if (::mount(source, target.c_str(), type, flags, data) < 0) return sys_error(errno, "{}", what);
  return {};
}

unsigned long mount_flags_of(const UniqueFd& fd) {
  struct statfs sfs {};
  if (::fstatfs(fd.get(), &sfs) < 0) return 0;
  const unsigned long f = static_cast<unsigned long>(sfs.f_flags);
  unsigned long out = 0;
  if (f & ST_RDONLY) out |= MS_RDONLY;
  if (f & ST_NOSUID) out |= MS_NOSUID;
  if (f & ST_NODEV) out |= MS_NODEV;
  if (f & ST_NOEXEC) out |= MS_NOEXEC;
  if (f & ST_NOATIME) out |= MS_NOATIME;
  if (f & ST_NODIRATIME) out |= MS_NODIRATIME;
  if (f & ST_RELATIME) out |= MS_RELATIME;
  if (f & ST_NOSYMFOLLOW) out |= MS_NOSYMFOLLOW;
  // statfs has no bit for strictatime: it is the mode with neither noatime nor relatime.
  if (!(out & (MS_NOATIME | MS_RELATIME))) out |= MS_STRICTATIME;
  return out;
}

Result<> remount_bind(const UniqueFd& mount, unsigned long flags, std::string_view what) {
  const unsigned long current = mount_flags_of(mount);
  // A remount replaces every per-mount flag: keep the atime mode unless asked.
  flags &= ~(MS_BIND | MS_REC | MS_REMOUNT);
  if (!(flags & kAtimeFlags)) flags |= current & kAtimeFlags;
  const std::string target = fd_path(mount);
  if (::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | flags, nullptr) == 0) return {};
  if (errno != EPERM) return sys_error(errno, "remount \"{}\"", what);
  // In a user namespace the kernel locks the flags of mounts it inherited:
  // keep them and retry (runc does the same).
  const unsigned long locked = (flags & ~kAtimeFlags) | (current & (kLockableFlags | kAtimeFlags));
  if (::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | locked, nullptr) < 0) {
    return sys_error(errno, "remount \"{}\"", what);
  }
  return {};
}

Result<UniqueFd> bind_host_path(RootfsContext& ctx, const std::string& source, const std::string& dest,
                                bool recursive, unsigned long flags) {
  BERTH_TRY_ASSIGN(ends, open_bind_ends(ctx, source, dest, ""));
  UniqueFd& src = ends.source;
  UniqueFd& target = ends.target;
  BERTH_TRY(sys_mount(fd_path(src).c_str(), fd_path(target), nullptr, MS_BIND | (recursive ? MS_REC : 0), nullptr,
                      fmt::format("bind \"{}\" on \"{}\"", source, dest)));
  BERTH_TRY_ASSIGN(mounted, open_in_root(ctx.root, dest, O_PATH));
  if ((flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) != 0) BERTH_TRY(remount_bind(mounted, flags, dest));
  return mounted;
}

Result<> apply_mount_extras(RootfsContext& ctx, const MountOptions& o, const std::string& dest) {
  if (o.propagation.empty() && !o.has_recursive_attrs()) return {};
  BERTH_TRY_ASSIGN(mounted, open_in_root(ctx.root, dest, O_PATH));
  for (unsigned long p : o.propagation) {
    BERTH_TRY(sys_mount(nullptr, fd_path(mounted), nullptr, p, nullptr,
                        fmt::format("set propagation of \"{}\"", dest)));
  }
  if (o.has_recursive_attrs()) {
    struct mount_attr attr {};
    attr.attr_set = o.attr_set;
    attr.attr_clr = o.attr_clr;
    if (o.attr_atime) {
      attr.attr_set |= *o.attr_atime;
      attr.attr_clr |= MOUNT_ATTR__ATIME;
    }
    if (::mount_setattr(mounted.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0) {
      return sys_error(errno, "set recursive mount attributes of \"{}\"", dest);
    }
  }
  return {};
}

Result<> mount_config_entry(RootfsContext& ctx, const oci::Mount& m, const UniqueFd* idmapped) {
  const std::string dest = clean_path("/" + m.destination);
  auto fail = [&](Error e) -> Result<> {
    return std::unexpected(std::move(e).context(fmt::format("mount \"{}\"", dest)));
  };
  const MountOptions o = parse_mount_options(m.options, m.type);
  const bool idmap = is_idmapped(m, o);
  if (idmap && (!idmapped || !idmapped->valid()))
    return fail(Error(EINVAL, "idmapped mount not prepared by the runtime (prepare_idmapped_mounts)"));
  if (dest == "/") return fail(Error(EINVAL, "a mount over the container's root \"/\" is not supported"));
  if (m.type == "proc" || m.type == "sysfs") {
    if (auto r = refuse_symlink_destination(ctx, dest, m.type); !r) return fail(std::move(r).error());
  }
  Result<> r;
  if (idmap) {
    r = mount_idmapped(ctx, m, o, dest, *idmapped);
  } else if (o.bind) {
    r = mount_bind(ctx, m, o, dest);
  } else if (m.type == "cgroup") {
    r = mount_cgroup(ctx, m, o, dest);
  } else {
    r = mount_filesystem(ctx, m, o, dest);
  }
  if (r) r = apply_mount_extras(ctx, o, dest);
  if (!r) return fail(std::move(r).error());
  return {};
}

}  // namespace berth::runtime::detail
