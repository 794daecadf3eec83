#include "base/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace berth {

Result<UniqueFd> open_file(const std::string& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return sys_error(errno, "open \"{}\"", path);
  return UniqueFd(fd);
}

Result<UniqueFd> open_at(const UniqueFd& dir, const std::string& path, int flags, mode_t mode) {
  int fd = ::openat(dir.get(), path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return sys_error(errno, "open \"{}\"", path);
  return UniqueFd(fd);
}

Result<std::string> read_fd(const UniqueFd& fd, const std::string& name) {
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(errno, "read \"{}\"", name);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<std::string> read_file(const std::string& path) {
  BERTH_TRY_ASSIGN(fd, open_file(path, O_RDONLY));
  return read_fd(fd, path);
}

Result<> write_all(int fd, std::string_view data, const std::string& name) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(errno, "write \"{}\"", name);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Result<> write_file(const std::string& path, std::string_view data) {
  BERTH_TRY_ASSIGN(fd, open_file(path, O_WRONLY));
  return write_all(fd.get(), data, path);
}

Result<> write_file_atomic(const std::string& path, std::string_view data, mode_t mode,
                           Durability durability) {
  std::string tmp = path + ".tmp";
  BERTH_TRY_ASSIGN(fd, open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode));
  if (auto r = write_all(fd.get(), data, tmp); !r) {
    ::unlink(tmp.c_str());
    return r;
  }
  if (durability == Durability::durable && ::fsync(fd.get()) < 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return sys_error(e, "fsync \"{}\"", tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return sys_error(e, "rename \"{}\" to \"{}\"", tmp, path);
  }
  return {};
}

Result<> mkdir_p(const std::string& path, mode_t mode) {
  if (path.empty()) return {};
  // The common case, a directory that exists, costs one mkdir(2) instead of
  // one per component: only on ENOENT is the parent made first.
  if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return {};
  if (errno != ENOENT) return sys_error(errno, "mkdir \"{}\"", path);
  std::string_view p = path;
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  size_t slash = p.rfind('/');
  while (slash != std::string_view::npos && slash > 0 && p[slash - 1] == '/') --slash;
  // No parent to make ("name" in a removed cwd, "/x" with "/" missing).
  if (slash == std::string_view::npos || slash == 0) return sys_error(ENOENT, "mkdir \"{}\"", path);
  BERTH_TRY(mkdir_p(std::string(p.substr(0, slash)), mode));
  if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return {};
  return sys_error(errno, "mkdir \"{}\"", path);
}

}  // namespace berth
