#include "runtime/path.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace berth::runtime {
namespace {

int sys_openat2(int dirfd, const char* path, int flags, mode_t mode, uint64_t resolve) {
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags) | O_CLOEXEC;
  // The kernel rejects a mode without O_CREAT/O_TMPFILE.
  how.mode = (flags & (O_CREAT | __O_TMPFILE)) ? mode : 0;
  how.resolve = resolve;
  for (int attempt = 0;; ++attempt) {
    int fd = static_cast<int>(syscall(SYS_openat2, dirfd, path, &how, sizeof(how)));
    // RESOLVE_IN_ROOT returns EAGAIN when a concurrent rename could have let
    // ".." escape: retrying is the documented answer.
    if (fd < 0 && errno == EAGAIN && attempt < 64) continue;
    return fd;
  }
}

std::vector<std::string_view> split_components(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = i;
    while (j < path.size() && path[j] != '/') ++j;
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j;
  }
  return parts;
}

// Path of `path` relative to the root, for openat2(root, ...): never empty.
std::string relative(std::string_view path) {
  std::string cleaned = clean_path(path);
  size_t start = cleaned.find_first_not_of('/');
  if (start == std::string::npos) return ".";
  return cleaned.substr(start);
}

}  // namespace

std::string clean_path(std::string_view path) {
  const bool absolute = !path.empty() && path.front() == '/';
  std::vector<std::string_view> out;
  for (std::string_view part : split_components(path)) {
    if (part == ".") continue;
    if (part == "..") {
      if (!out.empty() && out.back() != "..") {
        out.pop_back();
      } else if (!absolute) {
        out.push_back(part);  // a relative path may start with ".."; "/.." is "/"
      }
      continue;
    }
    out.push_back(part);
  }
  std::string result = absolute ? "/" : "";
  for (size_t i = 0; i < out.size(); ++i) {
    if (i > 0) result += '/';
    result.append(out[i]);
  }
  if (result.empty()) result = ".";
  return result;
}

std::string fd_path(const UniqueFd& fd) { return "/proc/self/fd/" + std::to_string(fd.get()); }

Result<UniqueFd> open_in_root(const UniqueFd& root, std::string_view path, int flags, mode_t mode) {
  std::string rel = relative(path);
  int fd = sys_openat2(root.get(), rel.c_str(), flags, mode, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  if (fd < 0) return sys_error(errno, "open \"{}\" inside the root", clean_path(path));
  return UniqueFd(fd);
}

Result<UniqueFd> mkdir_all_in_root(const UniqueFd& root, std::string_view path, mode_t mode) {
  const std::string cleaned = clean_path(path);
  int first = sys_openat2(root.get(), ".", O_PATH | O_DIRECTORY, 0, 0);
  if (first < 0) return sys_error(errno, "open the root directory");
  UniqueFd cur(first);
  std::string prefix;
  for (std::string_view part : split_components(cleaned)) {
    if (part == "..") continue;  // only a relative path keeps "..": ".." of the root is the root
    prefix += '/';
    prefix.append(part);
    const std::string name(part);
    for (int attempt = 0;; ++attempt) {
      // Fast path: a plain directory below the one we hold.
      int fd = sys_openat2(cur.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW, 0,
                           RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
      if (fd >= 0) {
        cur.reset(fd);
        break;
      }
      int err = errno;
      if (err == ELOOP || err == ENOTDIR) {
        // A symlink (or a file): resolve the prefix again from the root, so a
        // symlink is followed but stays inside it.
        fd = sys_openat2(root.get(), prefix.c_str() + 1, O_PATH | O_DIRECTORY, 0,
                         RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        if (fd >= 0) {
          cur.reset(fd);
          break;
        }
        err = errno;
        if (err == ENOENT) return sys_error(err, "mkdir \"{}\": dangling symlink inside the root", prefix);
        return sys_error(err, "mkdir \"{}\" inside the root", prefix);
      }
      if (err != ENOENT) return sys_error(err, "open \"{}\" inside the root", prefix);
      if (::mkdirat(cur.get(), name.c_str(), mode) < 0 && errno != EEXIST) {
        return sys_error(errno, "mkdir \"{}\" inside the root", prefix);
      }
      if (attempt > 8) return sys_error(ENOENT, "mkdir \"{}\" inside the root: it keeps vanishing", prefix);
    }
  }
  return cur;
}

Result<UniqueFd> create_file_in_root(const UniqueFd& root, std::string_view path, mode_t mode) {
  const std::string cleaned = clean_path("/" + std::string(path));
  if (auto existing = open_in_root(root, cleaned, O_PATH); existing) return existing;
  else if (existing.error().code() != ENOENT) return std::unexpected(std::move(existing).error());

  const size_t slash = cleaned.rfind('/');
  const std::string parent = cleaned.substr(0, slash);
  const std::string name = cleaned.substr(slash + 1);
  if (name.empty()) return error("create \"{}\": not a file path", cleaned);
  BERTH_TRY_ASSIGN(dir, mkdir_all_in_root(root, parent.empty() ? "/" : parent));
  int fd = sys_openat2(dir.get(), name.c_str(), O_CREAT | O_EXCL | O_RDONLY | O_NOFOLLOW, mode,
                       RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  if (fd < 0 && errno != EEXIST) return sys_error(errno, "create \"{}\" inside the root", cleaned);
  if (fd >= 0) ::close(fd);
  // EEXIST: a racing creator or a dangling symlink; opening tells which.
  return open_in_root(root, cleaned, O_PATH);
}

}  // namespace berth::runtime
