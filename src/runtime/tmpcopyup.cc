// tmpcopyup: a tmpfs mounted over a directory of the image starts with a copy
// of that directory's content. The covered directory stays readable through
// an fd opened before the mount, so no temporary mount point is needed.
#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "runtime/rootfs_internal.h"

namespace berth::runtime::detail {
namespace {

Result<> copy_file(const UniqueFd& from, const UniqueFd& to, const char* name, const struct stat& st) {
  int in = ::openat(from.get(), name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0) return sys_error(errno, "open \"{}\"", name);
  UniqueFd src(in);
  int out = ::openat(to.get(), name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 07777);
  if (out < 0) return sys_error(errno, "create \"{}\"", name);
  UniqueFd dst(out);
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = ::sendfile(dst.get(), src.get(), nullptr, static_cast<size_t>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error(errno, "copy \"{}\"", name);
    if (n == 0) break;  // the file shrank
    left -= n;
  }
  return {};
}

Result<> copy_entries(const UniqueFd& from, const UniqueFd& to, int depth) {
  if (depth > 64) return error("directory tree deeper than 64 levels");
  int dfd = ::openat(from.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return sys_error(errno, "open directory");
  DIR* dir = ::fdopendir(dfd);
  if (!dir) {
    ::close(dfd);
    return sys_error(errno, "read directory");
  }
  Result<> result;
  while (result) {
    errno = 0;
    struct dirent* ent = ::readdir(dir);
    if (!ent) {
      if (errno != 0) result = sys_error(errno, "read directory");
      break;
    }
    const char* name = ent->d_name;
    if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
    struct stat st {};
    if (::fstatat(from.get(), name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      result = sys_error(errno, "stat \"{}\"", name);
      break;
    }
    if (S_ISDIR(st.st_mode)) {
      if (::mkdirat(to.get(), name, st.st_mode & 07777) < 0) {
        result = sys_error(errno, "mkdir \"{}\"", name);
        break;
      }
      int a = ::openat(from.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int b = ::openat(to.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      UniqueFd sub_from(a), sub_to(b);
      if (a < 0 || b < 0) {
        result = sys_error(errno, "open \"{}\"", name);
        break;
      }
      result = with_context(copy_entries(sub_from, sub_to, depth + 1), name);
    } else if (S_ISREG(st.st_mode)) {
      result = copy_file(from, to, name, st);
    } else if (S_ISLNK(st.st_mode)) {
      char buf[4096];
      ssize_t n = ::readlinkat(from.get(), name, buf, sizeof buf - 1);
      if (n < 0) {
        result = sys_error(errno, "readlink \"{}\"", name);
        break;
      }
      buf[n] = 0;
      if (::symlinkat(buf, to.get(), name) < 0) result = sys_error(errno, "symlink \"{}\"", name);
    } else if (::mknodat(to.get(), name, st.st_mode, st.st_rdev) < 0) {
      result = sys_error(errno, "mknod \"{}\"", name);
    }
    if (!result) break;
    if (::fchownat(to.get(), name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) {
      result = sys_error(errno, "chown \"{}\"", name);
    } else if (!S_ISLNK(st.st_mode) && ::fchmodat(to.get(), name, st.st_mode & 07777, 0) < 0) {
      result = sys_error(errno, "chmod \"{}\"", name);  // mkdirat/openat applied the umask
    }
  }
  ::closedir(dir);
  return result;
}

}  // namespace

Result<> copy_tree(const UniqueFd& from, const UniqueFd& to) { return copy_entries(from, to, 0); }

}  // namespace berth::runtime::detail
