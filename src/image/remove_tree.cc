#include "image/remove_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace berth::image {
namespace {

// Empties the directory open as `dir`.
Result<> empty_dir(UniqueFd dir, const std::string& where) {
  const int fd = dir.get();
  DIR* d = ::fdopendir(dir.release());
  if (d == nullptr) {
    int e = errno;
    ::close(fd);
    return sys_error(e, "read directory \"{}\"", where);
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* ent = ::readdir(d)) {
    if (std::strcmp(ent->d_name, ".") != 0 && std::strcmp(ent->d_name, "..") != 0) names.emplace_back(ent->d_name);
    errno = 0;
  }
  int read_errno = errno;
  Result<> r;
  if (read_errno != 0) r = sys_error(read_errno, "read directory \"{}\"", where);
  for (size_t i = 0; r && i < names.size(); ++i) r = remove_tree_at(::dirfd(d), names[i], where + "/" + names[i]);
  ::closedir(d);
  return r;
}

// A directory that is the root of a mount (a container's rootfs still
// mounted, a volume's tmpfs) is refused before anything below it is removed:
// its content belongs to another filesystem, which must be unmounted first.
Result<> refuse_mount_root(int dir, const std::string& where) {
  struct statx stx {};
  if (::statx(dir, "", AT_EMPTY_PATH, 0, &stx) < 0) return sys_error(errno, "stat \"{}\"", where);
  if ((stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
    return sys_error(EBUSY, "remove \"{}\": a filesystem is mounted there; unmount it first", where);
  return {};
}

}  // namespace

Result<> remove_tree_at(int parent, const std::string& name, const std::string& where) {
  if (::unlinkat(parent, name.c_str(), 0) == 0 || errno == ENOENT) return {};
  if (errno != EISDIR && errno != EPERM) return sys_error(errno, "remove \"{}\"", where);
  int fd = ::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return {};
    return sys_error(errno, "open directory \"{}\"", where);
  }
  UniqueFd dir(fd);
  BERTH_TRY(refuse_mount_root(dir.get(), where));
  BERTH_TRY(empty_dir(std::move(dir), where));
  if (::unlinkat(parent, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT) {
    return sys_error(errno, "remove directory \"{}\"", where);
  }
  return {};
}

Result<> remove_tree(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") return error("remove \"{}\": not a removable path", path);
  int fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return {};
    return sys_error(errno, "open \"{}\"", dir);
  }
  UniqueFd parent(fd);
  return remove_tree_at(parent.get(), name, path);
}

}  // namespace berth::image
