// /dev: the spec's default devices (null, zero, full, random, urandom, tty),
// the config's devices, /dev/ptmx -> pts/ptmx and the fd symlinks. Device
// nodes are made with mknod, or, in a user namespace (where mknod is not
// allowed), bind-mounted from the host's node onto an empty file, as runc does.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>

#include "runtime/path.h"
#include "runtime/rootfs_internal.h"

namespace berth::runtime::detail {
namespace {

oci::Device default_device(const char* path, int64_t major, int64_t minor) {
  oci::Device d;
  d.type = "c";
  d.path = path;
  d.major = major;
  d.minor = minor;
  d.file_mode = 0666;
  d.uid = 0;
  d.gid = 0;
  return d;
}

Result<mode_t> node_type(const oci::Device& d) {
  if (d.type == "c" || d.type == "u") return S_IFCHR;
  if (d.type == "b") return S_IFBLK;
  if (d.type == "p") return S_IFIFO;
  return error("device \"{}\": unknown type \"{}\" (want c, b, u or p)", d.path, d.type);
}

// The config binds the host's /dev (or something else) over /dev: leave it alone.
bool dev_is_bind_mounted(const oci::Spec& spec) {
  for (const auto& m : spec.mounts) {
    if (clean_path("/" + m.destination) != "/dev") continue;
    if (parse_mount_options(m.options, m.type).bind) return true;
  }
  return false;
}

Result<> bind_device(RootfsContext& ctx, const oci::Device& d, const std::string& path) {
  int fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
  if (fd < 0) return sys_error(errno, "open host device \"{}\"", path);
  UniqueFd host(fd);
  BERTH_TRY_ASSIGN(target, create_file_in_root(ctx.root, path, 0000));
  (void)d;
  return sys_mount(fd_path(host).c_str(), fd_path(target), nullptr, MS_BIND, nullptr,
                   fmt::format("bind device \"{}\"", path));
}

// The directory devices go in, opened once for all of them (usually /dev).
struct DeviceDir {
  std::string path;
  UniqueFd fd;
};

// The umask is cleared while nodes are made, so that mknod gives the exact
// mode and no chmod is needed after it.
class UmaskCleared {
 public:
  UmaskCleared() : old_(::umask(0)) {}
  ~UmaskCleared() { ::umask(old_); }
  UmaskCleared(const UmaskCleared&) = delete;
  UmaskCleared& operator=(const UmaskCleared&) = delete;

 private:
  mode_t old_;
};

Result<> make_device(RootfsContext& ctx, const oci::Device& d, DeviceDir& dir) {
  const std::string path = clean_path("/" + d.path);
  if (ctx.opts.new_user_ns) return bind_device(ctx, d, path);

  BERTH_TRY_ASSIGN(type, node_type(d));
  const size_t slash = path.rfind('/');
  const std::string name = path.substr(slash + 1);
  if (name.empty() || name == "..") return error("device path \"{}\" names no file", d.path);
  std::string parent = slash == 0 ? "/" : path.substr(0, slash);
  if (!dir.fd || dir.path != parent) {
    BERTH_TRY_ASSIGN(fd, mkdir_all_in_root(ctx.root, parent));
    dir = {std::move(parent), std::move(fd)};
  }
  const mode_t perm = d.file_mode.value_or(0666) & 07777;
  const dev_t dev = type == S_IFIFO ? 0 : makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor));
  if (::mknodat(dir.fd.get(), name.c_str(), type | perm, dev) < 0) {
    if (errno != EEXIST) return sys_error(errno, "mknod \"{}\"", path);
    // Something of the image is in the way: the config's device wins.
    if (::unlinkat(dir.fd.get(), name.c_str(), 0) < 0) return sys_error(errno, "replace \"{}\"", path);
    if (::mknodat(dir.fd.get(), name.c_str(), type | perm, dev) < 0) return sys_error(errno, "mknod \"{}\"", path);
  }
  // The node is the creator's (root's, usually what the config asks) unless
  // a set-group-ID directory gave it its group: chown and chmod only then.
  const uid_t uid = d.uid.value_or(0);
  const gid_t gid = d.gid.value_or(0);
  struct stat st;
  if (::fstatat(dir.fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return sys_error(errno, "stat \"{}\"", path);
  if (st.st_uid == uid && st.st_gid == gid && (st.st_mode & 07777) == perm) return {};
  int nfd = ::openat(dir.fd.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (nfd < 0) return sys_error(errno, "open \"{}\"", path);
  UniqueFd node(nfd);
  if (::fchownat(node.get(), "", uid, gid, AT_EMPTY_PATH) < 0) return sys_error(errno, "chown \"{}\"", path);
  // chown may have cleared set-user/group-ID bits.
  if (::chmod(fd_path(node).c_str(), perm) < 0) return sys_error(errno, "chmod \"{}\"", path);
  return {};
}

Result<> make_symlink(const UniqueFd& dev, const char* target, const char* name) {
  if (::symlinkat(target, dev.get(), name) < 0 && errno != EEXIST) {
    return sys_error(errno, "symlink \"/dev/{}\" -> \"{}\"", name, target);
  }
  return {};
}

}  // namespace

Result<> setup_dev(RootfsContext& ctx) {
  if (dev_is_bind_mounted(ctx.spec)) return {};

  std::vector<oci::Device> devices = {
      default_device("/dev/null", 1, 3),    default_device("/dev/zero", 1, 5),
      default_device("/dev/full", 1, 7),    default_device("/dev/random", 1, 8),
      default_device("/dev/urandom", 1, 9), default_device("/dev/tty", 5, 0),
  };
  if (ctx.spec.linux) {
    for (const auto& d : ctx.spec.linux->devices) {
      // A config device with a default device's path replaces it.
      bool replaced = false;
      for (auto& existing : devices) {
        if (clean_path("/" + existing.path) == clean_path("/" + d.path)) {
          existing = d;
          replaced = true;
        }
      }
      if (!replaced) devices.push_back(d);
    }
  }
  DeviceDir dir;
  {
    UmaskCleared umask_cleared;
    for (const auto& d : devices) BERTH_TRY(make_device(ctx, d, dir));
  }

  UniqueFd dev;
  if (dir.fd && dir.path == "/dev") {
    dev = std::move(dir.fd);
  } else {
    BERTH_TRY_ASSIGN(fd, mkdir_all_in_root(ctx.root, "/dev"));
    dev = std::move(fd);
  }
  // /dev/ptmx -> pts/ptmx when a devpts is there to point at.
  if (open_in_root(ctx.root, "/dev/pts/ptmx", O_PATH)) {
    if (::unlinkat(dev.get(), "ptmx", 0) < 0 && errno != ENOENT) return sys_error(errno, "remove \"/dev/ptmx\"");
    BERTH_TRY(make_symlink(dev, "pts/ptmx", "ptmx"));
  }
  BERTH_TRY(make_symlink(dev, "/proc/self/fd", "fd"));
  BERTH_TRY(make_symlink(dev, "/proc/self/fd/0", "stdin"));
  BERTH_TRY(make_symlink(dev, "/proc/self/fd/1", "stdout"));
  BERTH_TRY(make_symlink(dev, "/proc/self/fd/2", "stderr"));
  if (::access("/proc/kcore", F_OK) == 0) BERTH_TRY(make_symlink(dev, "/proc/kcore", "core"));
  return {};
}

}  // namespace berth::runtime::detail
