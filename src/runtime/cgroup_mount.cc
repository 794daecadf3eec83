// The "cgroup" mount type. On a cgroup v2 host: a cgroup2 mount. On v1 and
// hybrid hosts (this machine): a tmpfs holding one mount per hierarchy, named
// after the host's mount point (cpu, memory, systemd, unified...), and symlinks
// for co-mounted controllers (cpu -> cpu,cpuacct). With a cgroup namespace the
// hierarchies are mounted fresh (the kernel roots them at the namespace); without
// one, the container's own cgroup directory of the host is bind-mounted, as runc does.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <utility>

#include "base/file.h"
#include "runtime/path.h"
#include "runtime/rootfs_internal.h"

namespace berth::runtime::detail {
namespace {

bool same_controllers(std::string_view list, const std::vector<std::string>& controllers) {
  size_t count = 0;
  size_t i = 0;
  while (i <= list.size()) {
    size_t j = list.find(',', i);
    if (j == std::string_view::npos) j = list.size();
    std::string_view c = list.substr(i, j - i);
    if (!c.empty()) {
      bool found = false;
      for (const auto& want : controllers) found = found || want == c;
      if (!found) return false;
      ++count;
    }
    i = j + 1;
  }
  return count == controllers.size();
}

// This process's cgroup in hierarchy `h`, from /proc/self/cgroup.
Result<std::string> own_cgroup(const cgroup::Hierarchy& h) {
  BERTH_TRY_ASSIGN(content, read_file("/proc/self/cgroup"));
  std::string_view rest(content);
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    size_t a = line.find(':');
    size_t b = a == std::string_view::npos ? a : line.find(':', a + 1);
    if (b == std::string_view::npos) continue;
    std::string_view controllers = line.substr(a + 1, b - a - 1);
    std::string_view path = line.substr(b + 1);
    if (h.unified ? controllers.empty() : same_controllers(controllers, h.controllers)) return std::string(path);
  }
  return error("no line for hierarchy \"{}\" in /proc/self/cgroup", h.mount_point);
}

// Host directory of the container's cgroup in hierarchy `h`.
Result<std::string> host_cgroup_dir(const RootfsContext& ctx, const cgroup::Hierarchy& h) {
  if (auto it = ctx.opts.cgroup_paths.find(h.mount_point); it != ctx.opts.cgroup_paths.end()) return it->second;
  BERTH_TRY_ASSIGN(path, own_cgroup(h));
  // /proc/self/cgroup paths are from the hierarchy's root; the mount shows h.root.
  std::string_view rel(path);
  if (h.root != "/" && rel.starts_with(h.root)) rel.remove_prefix(h.root.size());
  return clean_path(h.mount_point + "/" + std::string(rel));
}

std::string base_name(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The mount_setattr(2) form of a bind remount with `flags`: set what they
// ask, clear the other lockable flags, and the atime mode only if they name
// one. Nothing for flags it cannot express exactly.
std::optional<struct mount_attr> attr_of_flags(unsigned long flags) {
  constexpr unsigned long kPlain = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOSYMFOLLOW;
  constexpr unsigned long kAtime = MS_RELATIME | MS_NOATIME | MS_STRICTATIME;
  if (flags & ~(kPlain | kAtime)) return std::nullopt;
  const unsigned long atime = flags & kAtime;
  if (atime & (atime - 1)) return std::nullopt;  // more than one atime mode
  struct mount_attr attr {};
  const std::pair<unsigned long, uint64_t> kMap[] = {{MS_RDONLY, MOUNT_ATTR_RDONLY},
                                                     {MS_NOSUID, MOUNT_ATTR_NOSUID},
                                                     {MS_NODEV, MOUNT_ATTR_NODEV},
                                                     {MS_NOEXEC, MOUNT_ATTR_NOEXEC},
                                                     {MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW}};
  for (const auto& [ms, attr_bit] : kMap) (flags & ms ? attr.attr_set : attr.attr_clr) |= attr_bit;
  if (atime) {
    attr.attr_clr |= MOUNT_ATTR__ATIME;
    attr.attr_set |= atime == MS_RELATIME ? MOUNT_ATTR_RELATIME
                     : atime == MS_NOATIME ? MOUNT_ATTR_NOATIME
                                           : MOUNT_ATTR_STRICTATIME;
  }
  return attr;
}

Result<> mount_hierarchy(RootfsContext& ctx, const cgroup::Hierarchy& h, const std::string& dest,
                         unsigned long flags, const std::string& data) {
  flags &= ~(MS_BIND | MS_REC | MS_REMOUNT);
  if (ctx.opts.new_cgroup_ns) {
    BERTH_TRY_ASSIGN(target, mkdir_all_in_root(ctx.root, dest));
    std::string options;
    const char* type = "cgroup2";
    if (!h.unified) {
      type = "cgroup";
      for (const auto& c : h.controllers) options = join_data(std::move(options), c);
    }
    options = join_data(std::move(options), data);
    auto r = sys_mount("cgroup", fd_path(target), type, flags, options.empty() ? nullptr : options.c_str(),
                       fmt::format("mount {} ({}) on \"{}\"", type, options, dest));
    if (r || (r.error().code() != EPERM && r.error().code() != EBUSY)) return r;
    // Not allowed (a user namespace may not mount some v1 hierarchies): bind instead.
  }
  BERTH_TRY_ASSIGN(source, host_cgroup_dir(ctx, h));
  BERTH_TRY_ASSIGN(mounted, bind_host_path(ctx, source, dest, false, flags));
  (void)mounted;
  return {};
}

// The host's directory of `h` bound on `name` inside `tmpfs`, the tmpfs this
// runtime has just mounted for the hierarchies: nothing else can be in it, so
// the mount point is made and opened right there, without the resolution
// inside the rootfs that config destinations need.
Result<> bind_hierarchy(const RootfsContext& ctx, const cgroup::Hierarchy& h, const UniqueFd& tmpfs,
                        const std::string& name, const std::string& dest) {
  BERTH_TRY_ASSIGN(source, host_cgroup_dir(ctx, h));
  BERTH_TRY_ASSIGN(from, open_file(source, O_PATH | O_DIRECTORY));
  if (::mkdirat(tmpfs.get(), name.c_str(), 0755) < 0) return sys_error(errno, "mkdir \"{}\"", dest);
  int fd = ::openat(tmpfs.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return sys_error(errno, "open \"{}\"", dest);
  UniqueFd to(fd);
  return sys_mount(fd_path(from).c_str(), fd_path(to), nullptr, MS_BIND, nullptr,
                   fmt::format("bind \"{}\" on \"{}\"", source, dest));
}

}  // namespace

Result<> mount_cgroup(RootfsContext& ctx, const oci::Mount& m, const MountOptions& o, const std::string& dest) {
  const cgroup::Layout* layout = ctx.opts.cgroup_layout;
  if (!layout) return error("a cgroup mount needs the host's cgroup layout (RootfsOptions::cgroup_layout)");
  (void)m;
  if (ctx.opts.before_cgroup_mount) BERTH_TRY(ctx.opts.before_cgroup_mount());

  if (layout->mode == cgroup::Mode::v2) {
    for (const auto& h : layout->hierarchies) {
      if (h.unified) return mount_hierarchy(ctx, h, dest, o.flags, o.data);
    }
    return error("the host's cgroup layout is v2 but has no cgroup2 mount");
  }

  // v1/hybrid: a tmpfs to hold the hierarchies, read-only only once they are in.
  BERTH_TRY_ASSIGN(target, mkdir_all_in_root(ctx.root, dest));
  const unsigned long tmpfs_flags = (o.flags & ~(MS_RDONLY | MS_BIND | MS_REC | MS_REMOUNT)) | MS_NOSUID | MS_NODEV |
                                    MS_NOEXEC;
  std::string data = join_data("mode=755", ctx.mount_label);
  BERTH_TRY(sys_mount("tmpfs", fd_path(target), "tmpfs", tmpfs_flags, data.c_str(),
                      fmt::format("mount tmpfs on \"{}\"", dest)));
  BERTH_TRY_ASSIGN(dir, open_in_root(ctx.root, dest, O_PATH | O_DIRECTORY));

  // Bound from the host, the hierarchies usually want the tmpfs's own flags
  // (nosuid, nodev, noexec, ro): one recursive mount_setattr at the end sets
  // them all, instead of a remount per hierarchy and one for the tmpfs.
  const unsigned long bind_flags = o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  std::optional<struct mount_attr> batch;
  if (!ctx.opts.new_cgroup_ns && (bind_flags | MS_NOSUID | MS_NODEV | MS_NOEXEC) == bind_flags)
    batch = attr_of_flags(bind_flags);
  std::vector<std::string> bound;

  for (const auto& h : layout->hierarchies) {
    const std::string name = base_name(h.mount_point);
    if (name.empty() || name == "." || name == "..") continue;
    if (batch) {
      BERTH_TRY(bind_hierarchy(ctx, h, dir, name, dest + "/" + name));
      bound.push_back(dest + "/" + name);
    } else {
      BERTH_TRY(mount_hierarchy(ctx, h, dest + "/" + name, o.flags, o.data));
    }
    // Co-mounted controllers: "cpu,cpuacct" is also reachable as cpu and cpuacct.
    if (name.find(',') == std::string::npos) continue;
    size_t i = 0;
    while (i <= name.size()) {
      size_t j = name.find(',', i);
      if (j == std::string::npos) j = name.size();
      std::string alias = name.substr(i, j - i);
      i = j + 1;
      if (alias.empty() || alias.find('=') != std::string::npos) continue;
      if (::symlinkat(name.c_str(), dir.get(), alias.c_str()) < 0 && errno != EEXIST) {
        return sys_error(errno, "symlink \"{}/{}\" -> \"{}\"", dest, alias, name);
      }
    }
  }
  if (batch) {
    if (::mount_setattr(dir.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &*batch, sizeof *batch) == 0) return {};
    // Older kernels (ENOSYS), flags locked in a user namespace (EPERM): one
    // mount at a time, as remount_bind() knows how to keep locked flags.
    for (const auto& path : bound) {
      BERTH_TRY_ASSIGN(mounted, open_in_root(ctx.root, path, O_PATH));
      BERTH_TRY(remount_bind(mounted, bind_flags, path));
    }
  }
  if (o.flags & MS_RDONLY) BERTH_TRY(remount_bind(dir, tmpfs_flags | MS_RDONLY, dest));
  return {};
}

}  // namespace berth::runtime::detail
