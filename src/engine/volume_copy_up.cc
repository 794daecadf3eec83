// A new volume's copy-up (docker's and podman's): the first container that
// mounts an empty volume over a directory with content in its image gets that
// content copied into the volume first, as the rootfs overlay shows it, with
// owners, modes, times, xattrs, symlinks, hard links and device nodes.
//
// The source is walked from the rootfs with openat2(RESOLVE_IN_ROOT) and
// below it with *at calls that never follow a symlink, so an image's symlink
// (absolute or with "..") never leads to the host's files.
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <map>
#include <memory>

#include "base/openat2.h"
#include "engine/volumes.h"

namespace berth::engine {
namespace {

struct CloseDir {
  void operator()(DIR* d) const { ::closedir(d); }
};

// The names in a directory (without . and ..), sorted; fd stays the caller's.
Result<std::vector<std::string>> names_in(int dir_fd, const std::string& what) {
  int dup = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
  if (dup < 0) return sys_error(errno, "read directory \"{}\"", what);
  ::lseek(dup, 0, SEEK_SET);
  std::unique_ptr<DIR, CloseDir> d(::fdopendir(dup));
  if (!d) {
    ::close(dup);
    return sys_error(errno, "read directory \"{}\"", what);
  }
  std::vector<std::string> names;
  errno = 0;
  while (auto* ent = ::readdir(d.get())) {
    std::string_view n = ent->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  if (errno != 0) return sys_error(errno, "read directory \"{}\"", what);
  std::sort(names.begin(), names.end());
  return names;
}

// "/proc/self/fd/N/name": the l*xattr path of an entry of a directory fd,
// the entry itself not followed (a symlink's own attributes).
std::string entry_path(int dir_fd, const std::string& name) {
  return fmt::format("/proc/self/fd/{}/{}", dir_fd, name);
}

class TreeCopy {
 public:
  // Copies the contents of src_dir into dst_dir, then dst_dir takes
  // src_dir's owner, mode, xattrs and times.
  Result<> contents(int src_dir, int dst_dir, const std::string& where) {
    BERTH_TRY_ASSIGN(names, names_in(src_dir, where));
    for (const auto& name : names) BERTH_TRY(entry(src_dir, dst_dir, name, where + "/" + name));
    struct stat st {};
    if (::fstat(src_dir, &st) < 0) return sys_error(errno, "stat \"{}\"", where);
    BERTH_TRY(copy_xattrs_fd(src_dir, dst_dir, where));
    return finish_fd(dst_dir, st, where);
  }

 private:
  Result<> entry(int src_dir, int dst_dir, const std::string& name, const std::string& where) {
    struct stat st {};
    if (::fstatat(src_dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) return {};
      return sys_error(errno, "stat \"{}\"", where);
    }
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto key = std::pair(st.st_dev, st.st_ino);
      if (auto it = links_.find(key); it != links_.end()) {
        if (::linkat(it->second.first, it->second.second.c_str(), dst_dir, name.c_str(), 0) < 0)
          return sys_error(errno, "link \"{}\"", where);
        return {};
      }
    }
    if (S_ISDIR(st.st_mode)) {
      UniqueFd src(::openat(src_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!src) return sys_error(errno, "open \"{}\"", where);
      if (::mkdirat(dst_dir, name.c_str(), 0700) < 0) return sys_error(errno, "create \"{}\"", where);
      UniqueFd dst(::openat(dst_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!dst) return sys_error(errno, "open \"{}\"", where);
      return contents(src.get(), dst.get(), where);
    }
    if (S_ISREG(st.st_mode)) {
      UniqueFd src(::openat(src_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!src) return sys_error(errno, "open \"{}\"", where);
      UniqueFd dst(::openat(dst_dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!dst) return sys_error(errno, "create \"{}\"", where);
      BERTH_TRY(copy_data(src.get(), dst.get(), st.st_size, where));
      BERTH_TRY(copy_xattrs_fd(src.get(), dst.get(), where));
      BERTH_TRY(finish_fd(dst.get(), st, where));
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(PATH_MAX, '\0');
      ssize_t n = ::readlinkat(src_dir, name.c_str(), target.data(), target.size());
      if (n < 0) return sys_error(errno, "read symlink \"{}\"", where);
      target.resize(static_cast<size_t>(n));
      if (::symlinkat(target.c_str(), dst_dir, name.c_str()) < 0) return sys_error(errno, "create \"{}\"", where);
      BERTH_TRY(copy_xattrs_path(entry_path(src_dir, name), entry_path(dst_dir, name), where));
      if (::fchownat(dst_dir, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
        return sys_error(errno, "chown \"{}\"", where);
      timespec times[2] = {st.st_atim, st.st_mtim};
      if (::utimensat(dst_dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0)
        return sys_error(errno, "set the times of \"{}\"", where);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) {
      if (::mknodat(dst_dir, name.c_str(), (st.st_mode & S_IFMT) | 0600, st.st_rdev) < 0)
        return sys_error(errno, "create \"{}\"", where);
      UniqueFd dst(::openat(dst_dir, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      if (!dst) return sys_error(errno, "open \"{}\"", where);
      BERTH_TRY(copy_xattrs_path(entry_path(src_dir, name), entry_path(dst_dir, name), where));
      BERTH_TRY(finish_path(dst_dir, name, st, where));
    } else {
      return {};
    }
    if (st.st_nlink > 1) {
      UniqueFd dir(::fcntl(dst_dir, F_DUPFD_CLOEXEC, 3));
      if (!dir) return sys_error(errno, "remember \"{}\"", where);
      int raw = dir.get();
      held_dirs_.push_back(std::move(dir));
      links_.emplace(std::pair(st.st_dev, st.st_ino), std::pair(raw, name));
    }
    return {};
  }

  static Result<> copy_data(int src, int dst, off_t size, const std::string& where) {
    off_t left = size;
    while (left > 0) {
      ssize_t n = ::copy_file_range(src, nullptr, dst, nullptr, static_cast<size_t>(left), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS))
        return copy_by_read(src, dst, where);
      if (n < 0) return sys_error(errno, "copy \"{}\"", where);
      if (n == 0) break;  // shrank meanwhile
      left -= n;
    }
    return {};
  }

  static Result<> copy_by_read(int src, int dst, const std::string& where) {
    std::vector<char> buf(1 << 16);
    for (;;) {
      ssize_t n = ::read(src, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return sys_error(errno, "read \"{}\"", where);
      if (n == 0) return {};
      for (ssize_t off = 0; off < n;) {
        ssize_t w = ::write(dst, buf.data() + off, static_cast<size_t>(n - off));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return sys_error(errno, "write \"{}\"", where);
        off += w;
      }
    }
  }

  // Owner before mode (a chown clears set-id bits), times last.
  static Result<> finish_fd(int fd, const struct stat& st, const std::string& where) {
    if (::fchown(fd, st.st_uid, st.st_gid) < 0) return sys_error(errno, "chown \"{}\"", where);
    if (::fchmod(fd, st.st_mode & 07777) < 0) return sys_error(errno, "chmod \"{}\"", where);
    timespec times[2] = {st.st_atim, st.st_mtim};
    if (::futimens(fd, times) < 0) return sys_error(errno, "set the times of \"{}\"", where);
    return {};
  }

  static Result<> finish_path(int dir, const std::string& name, const struct stat& st, const std::string& where) {
    if (::fchownat(dir, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
      return sys_error(errno, "chown \"{}\"", where);
    if (::fchmodat(dir, name.c_str(), st.st_mode & 07777, 0) < 0) return sys_error(errno, "chmod \"{}\"", where);
    timespec times[2] = {st.st_atim, st.st_mtim};
    if (::utimensat(dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0)
      return sys_error(errno, "set the times of \"{}\"", where);
    return {};
  }

  // Extended attributes a filesystem cannot take (ENOTSUP, or EPERM for a
  // namespace we may not write) are skipped, as cp -a and tar do.
  template <typename List, typename Get, typename Set>
  static Result<> copy_xattrs(List list, Get get, Set set, const std::string& where) {
    ssize_t len = list(nullptr, 0);
    if (len < 0 && (errno == ENOTSUP || errno == ENODATA)) return {};
    if (len < 0) return sys_error(errno, "list the xattrs of \"{}\"", where);
    if (len == 0) return {};
    std::string names(static_cast<size_t>(len), '\0');
    len = list(names.data(), names.size());
    if (len < 0) return sys_error(errno, "list the xattrs of \"{}\"", where);
    names.resize(static_cast<size_t>(len));
    std::string value;
    for (size_t at = 0; at < names.size();) {
      std::string name(names.c_str() + at);
      at += name.size() + 1;
      ssize_t vlen = get(name.c_str(), nullptr, 0);
      if (vlen < 0 && errno == ENODATA) continue;
      if (vlen < 0) return sys_error(errno, "read xattr {} of \"{}\"", name, where);
      value.assign(static_cast<size_t>(vlen), '\0');
      vlen = get(name.c_str(), value.data(), value.size());
      if (vlen < 0) return sys_error(errno, "read xattr {} of \"{}\"", name, where);
      if (set(name.c_str(), value.data(), static_cast<size_t>(vlen)) < 0 && errno != ENOTSUP && errno != EPERM)
        return sys_error(errno, "set xattr {} of \"{}\"", name, where);
    }
    return {};
  }

  static Result<> copy_xattrs_fd(int src, int dst, const std::string& where) {
    return copy_xattrs([&](char* b, size_t n) { return ::flistxattr(src, b, n); },
                       [&](const char* k, void* b, size_t n) { return ::fgetxattr(src, k, b, n); },
                       [&](const char* k, const void* b, size_t n) { return ::fsetxattr(dst, k, b, n, 0); }, where);
  }

  static Result<> copy_xattrs_path(const std::string& src, const std::string& dst, const std::string& where) {
    return copy_xattrs([&](char* b, size_t n) { return ::llistxattr(src.c_str(), b, n); },
                       [&](const char* k, void* b, size_t n) { return ::lgetxattr(src.c_str(), k, b, n); },
                       [&](const char* k, const void* b, size_t n) { return ::lsetxattr(dst.c_str(), k, b, n, 0); },
                       where);
  }

  // First copy of each multiply-linked inode: the directory (held open) and name it got.
  std::map<std::pair<dev_t, ino_t>, std::pair<int, std::string>> links_;
  std::vector<UniqueFd> held_dirs_;
};

bool has_option(const std::vector<std::string>& options, std::string_view option) {
  return std::find(options.begin(), options.end(), option) != options.end();
}

// `volume create --opt o=nocopy`, podman's volume-wide nocopy.
bool volume_says_nocopy(const VolumeRecord& v) {
  auto o = v.options.find("o");
  if (o == v.options.end()) return false;
  std::string_view rest = o->second;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    if (rest.substr(0, comma) == "nocopy") return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

Result<bool> copy_up_volume(const Paths& paths, const VolumeRecord& volume, const std::string& rootfs,
                            const MountRequest& mount) {
  std::string marker = copy_up_marker(paths, volume.name);
  if (has_option(mount.options, "nocopy") || volume_says_nocopy(volume) || ::access(marker.c_str(), F_OK) != 0)
    return false;
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return sys_error(errno, "open the rootfs \"{}\"", rootfs);
  // podman's rules: nothing to copy from a missing path, a non-directory or
  // an empty directory (the volume keeps waiting for a container that has
  // content there); a volume that is not empty is never copied into
  // (CVE-2020-1726: it was filled outside berth).
  UniqueFd src = openat2_fd(root.get(), mount.destination.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0,
                            RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  if (!src) {
    if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) return false;
    return sys_error(errno, "open \"{}\" in the rootfs", mount.destination);
  }
  std::string where = fmt::format("{} of the image", mount.destination);
  BERTH_TRY_ASSIGN(source_names, names_in(src.get(), where));
  if (source_names.empty()) return false;
  UniqueFd dst(::open(volume.mountpoint.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dst) return sys_error(errno, "open volume directory \"{}\"", volume.mountpoint);
  BERTH_TRY_ASSIGN(volume_names, names_in(dst.get(), volume.mountpoint));
  if (!volume_names.empty()) return false;

  // Claimed before copying by the unlink, which succeeds once: of two
  // containers starting on the same new volume at once, one copies; a failed
  // copy is not retried into a half-filled volume (as podman, which clears
  // its flag first too).
  if (::unlink(marker.c_str()) != 0) {
    if (errno == ENOENT) return false;
    return sys_error(errno, "remove \"{}\"", marker);
  }
  BERTH_TRY(with_context(TreeCopy().contents(src.get(), dst.get(), where),
                         fmt::format("copy up into volume {}", volume.name)));
  return true;
}

}  // namespace berth::engine
