#include "runtime/path.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "base/openat2.h"

namespace berth::runtime {
namespace {

int sys_openat2(int dirfd, const char* path, int flags, mode_t mode, uint64_t resolve) {
  return openat2_fd(dirfd, path, flags, mode, resolve).release();
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

namespace {

constexpr int kMaxSymlinks = 40;  // the kernel's limit for one path walk

struct Walked {
  UniqueFd dir;       // O_PATH fd of the directory reached
  std::string path;   // its path inside the root, symlinks resolved ("" = the root)
};

std::string join_parts(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    out += '/';
    out += p;
  }
  return out;
}

// One step below `dir`, never following anything: O_PATH|O_NOFOLLOW.
int open_step(const UniqueFd& dir, const char* name) {
  return sys_openat2(dir.get(), name, O_PATH | O_NOFOLLOW, 0,
                     RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

Result<std::string> read_link(const UniqueFd& link, const std::string& where) {
  char buf[4096];
  ssize_t n = ::readlinkat(link.get(), "", buf, sizeof buf);
  if (n < 0) return sys_error(errno, "readlink \"{}\" inside the root", where);
  if (static_cast<size_t>(n) == sizeof buf) return sys_error(ENAMETOOLONG, "readlink \"{}\" inside the root", where);
  return std::string(buf, static_cast<size_t>(n));
}

// Walks `path` inside `root` one component at a time, as a lexical
// SecureJoin would: a symlink's target is spliced into the walk (an absolute
// one restarts from the root, ".." stops at the root), so a dangling symlink
// leads to where its target would be, inside the root. Every step is an
// openat2 below an fd already held, so a concurrent rename cannot redirect it.
// With `create`, missing directories are made with `mode`.
Result<Walked> walk_dirs(const UniqueFd& root, std::string_view path, bool create, mode_t mode) {
  std::vector<std::string> todo;  // a stack: back() is the next component
  for (std::string_view part : split_components(path)) todo.emplace(todo.begin(), part);
  int first = sys_openat2(root.get(), ".", O_PATH | O_DIRECTORY, 0, 0);
  if (first < 0) return sys_error(errno, "open the root directory");
  Walked w{UniqueFd(first), {}};
  std::vector<std::string> parts;
  int links = 0;
  int creations = 0;
  while (!todo.empty()) {
    std::string name = std::move(todo.back());
    todo.pop_back();
    if (name == ".") continue;
    if (name == "..") {
      if (!parts.empty()) parts.pop_back();
      const std::string up = parts.empty() ? "." : join_parts(parts).substr(1);
      int fd = sys_openat2(root.get(), up.c_str(), O_PATH | O_DIRECTORY, 0,
                           RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
      if (fd < 0) return sys_error(errno, "open \"{}\" inside the root", "/" + up);
      w.dir.reset(fd);
      continue;
    }
    const std::string where = join_parts(parts) + "/" + name;
    int fd = open_step(w.dir, name.c_str());
    if (fd < 0) {
      if (errno != ENOENT || !create) return sys_error(errno, "open \"{}\" inside the root", where);
      if (::mkdirat(w.dir.get(), name.c_str(), mode) < 0 && errno != EEXIST) {
        return sys_error(errno, "mkdir \"{}\" inside the root", where);
      }
      if (++creations > 1000) return sys_error(ENOENT, "mkdir \"{}\" inside the root: it keeps vanishing", where);
      todo.push_back(std::move(name));  // open what was just made
      continue;
    }
    UniqueFd next(fd);
    struct stat st {};
    if (::fstat(next.get(), &st) < 0) return sys_error(errno, "stat \"{}\" inside the root", where);
    if (S_ISLNK(st.st_mode)) {
      if (++links > kMaxSymlinks) return sys_error(ELOOP, "open \"{}\" inside the root", where);
      BERTH_TRY_ASSIGN(target, read_link(next, where));
      std::vector<std::string_view> target_parts = split_components(target);
      for (auto it = target_parts.rbegin(); it != target_parts.rend(); ++it) todo.emplace_back(*it);
      if (!target.empty() && target.front() == '/') {
        parts.clear();
        int r = sys_openat2(root.get(), ".", O_PATH | O_DIRECTORY, 0, 0);
        if (r < 0) return sys_error(errno, "open the root directory");
        w.dir.reset(r);
      }
      continue;
    }
    if (!S_ISDIR(st.st_mode)) return sys_error(ENOTDIR, "\"{}\" inside the root", where);
    w.dir = std::move(next);
    parts.push_back(std::move(name));
  }
  w.path = join_parts(parts);
  return w;
}

}  // namespace

Result<UniqueFd> mkdir_all_in_root(const UniqueFd& root, std::string_view path, mode_t mode) {
  // Fast path, the usual case: it exists; the kernel keeps the walk inside.
  if (auto existing = open_in_root(root, path, O_PATH | O_DIRECTORY)) return existing;
  const std::string clean = clean_path("/" + std::string(path));
  // Second fast path, also usual (a mount point under one just mounted): only
  // the last component is missing. A dangling symlink there makes mkdirat
  // fail with EEXIST, and anything unexpected takes the careful walk.
  if (const size_t slash = clean.rfind('/'); slash != std::string::npos && slash + 1 < clean.size()) {
    const std::string name = clean.substr(slash + 1);
    if (auto parent = open_in_root(root, slash == 0 ? "/" : clean.substr(0, slash), O_PATH | O_DIRECTORY);
        parent && ::mkdirat(parent->get(), name.c_str(), mode) == 0) {
      UniqueFd made(open_step(*parent, name.c_str()));
      struct stat st {};
      if (made && ::fstat(made.get(), &st) == 0 && S_ISDIR(st.st_mode)) return made;
    }
  }
  BERTH_TRY_ASSIGN(w, walk_dirs(root, clean, true, mode));
  return std::move(w.dir);
}

Result<UniqueFd> create_file_in_root(const UniqueFd& root, std::string_view path, mode_t mode) {
  if (auto existing = open_in_root(root, path, O_PATH)) return existing;
  std::string current = clean_path("/" + std::string(path));
  for (int links = 0; links <= kMaxSymlinks; ++links) {
    const size_t slash = current.rfind('/');
    const std::string name = current.substr(slash + 1);
    if (name.empty()) return error("create \"{}\": not a file path", current);
    BERTH_TRY_ASSIGN(w, walk_dirs(root, current.substr(0, slash), true, 0755));
    const std::string where = w.path + "/" + name;
    int fd = open_step(w.dir, name.c_str());
    if (fd < 0 && errno == ENOENT) {
      int made = sys_openat2(w.dir.get(), name.c_str(), O_CREAT | O_EXCL | O_RDONLY | O_NOFOLLOW, mode,
                             RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
      if (made < 0 && errno != EEXIST) return sys_error(errno, "create \"{}\" inside the root", where);
      if (made >= 0) ::close(made);
      fd = open_step(w.dir, name.c_str());
    }
    if (fd < 0) return sys_error(errno, "open \"{}\" inside the root", where);
    UniqueFd file(fd);
    struct stat st {};
    if (::fstat(file.get(), &st) < 0) return sys_error(errno, "stat \"{}\" inside the root", where);
    if (!S_ISLNK(st.st_mode)) return file;
    // A symlink (maybe dangling): continue at its target, inside the root.
    BERTH_TRY_ASSIGN(target, read_link(file, where));
    current = clean_path(target.starts_with("/") ? target : w.path + "/" + target);
    if (current == "/") return error("create \"{}\": its symlink points at the root", where);
  }
  return sys_error(ELOOP, "create \"{}\" inside the root", path);
}

Result<std::string> search_path(std::string_view name, const std::vector<std::string>& env,
                                const std::function<bool(const std::string&)>& usable) {
  std::string_view path_var = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto& e : env)
    if (e.starts_with("PATH=")) path_var = std::string_view(e).substr(5);
  for (size_t start = 0; start <= path_var.size();) {
    size_t end = path_var.find(':', start);
    if (end == std::string_view::npos) end = path_var.size();
    std::string dir(path_var.substr(start, end - start));
    if (dir.empty()) dir = ".";
    std::string candidate = dir.ends_with('/') ? dir + std::string(name) : dir + "/" + std::string(name);
    if (usable(candidate)) return candidate;
    start = end + 1;
  }
  return sys_error(ENOENT, "exec: \"{}\": executable file not found in $PATH", name);
}

}  // namespace berth::runtime
