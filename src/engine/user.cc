// The user of a container (docker's rules, libcontainer's GetExecUser) and
// its working directory, both looked up inside the image's rootfs through
// openat2(RESOLVE_IN_ROOT): a hostile image's symlinks (/etc/passwd ->
// ../../../etc/shadow) resolve inside the rootfs, never on the host.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <string_view>
#include <vector>

#include "base/openat2.h"
#include "engine/spec_builder.h"
#include "engine/spec_internal.h"

namespace berth::engine {
namespace detail {

Result<UniqueFd> open_rootfs(const std::string& rootfs) {
  UniqueFd fd(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return sys_error(errno, "open rootfs {}", rootfs);
  return fd;
}

Result<std::optional<std::string>> read_in_root(const UniqueFd& root, const std::string& path) {
  // O_NONBLOCK: a FIFO planted at /etc/passwd must not hang `berth run`.
  UniqueFd fd = openat2_fd(root.get(), path.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK, 0, RESOLVE_IN_ROOT);
  if (!fd) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<std::string>();
    return sys_error(errno, "open {} in the rootfs", path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) return sys_error(errno, "stat {} in the rootfs", path);
  if (!S_ISREG(st.st_mode)) return error("{} in the rootfs is not a regular file", path);
  constexpr off_t kMax = 4 << 20;
  if (st.st_size > kMax) return error("{} in the rootfs is larger than 4 MiB", path);
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n = ::read(fd.get(), data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error(errno, "read {} in the rootfs", path);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  data.resize(got);
  return std::optional<std::string>(std::move(data));
}

Result<> make_workdir(const UniqueFd& root, const std::string& path, uid_t uid, gid_t gid) {
  // The common case first: the directory is there.
  UniqueFd dir = openat2_fd(root.get(), path.c_str(), O_PATH | O_DIRECTORY, 0, RESOLVE_IN_ROOT);
  if (dir) return {};
  if (errno != ENOENT) return sys_error(errno, "workdir {}", path);
  // Walk down from the root: each prefix resolved in the root, the missing
  // component made in the directory its parent resolved to. A dangling
  // symlink on the way restarts the walk at its target (as securejoin's
  // MkdirAll), which RESOLVE_IN_ROOT again keeps inside.
  std::string todo = path;
  for (int links = 0;; ++links) {
    if (links > 40) return sys_error(ELOOP, "workdir {}", path);
    dir = openat2_fd(root.get(), "/", O_PATH | O_DIRECTORY, 0, RESOLVE_IN_ROOT);
    if (!dir) return sys_error(errno, "workdir {}: open the rootfs", path);
    std::string prefix, restart;
    size_t pos = 0;
    while (pos < todo.size() && restart.empty()) {
      size_t next = todo.find('/', pos);
      if (next == std::string::npos) next = todo.size();
      std::string name = todo.substr(pos, next - pos);
      pos = next + 1;
      if (name.empty() || name == ".") continue;
      std::string parent = prefix;
      prefix += "/" + name;
      UniqueFd sub = openat2_fd(root.get(), prefix.c_str(), O_PATH | O_DIRECTORY, 0, RESOLVE_IN_ROOT);
      if (!sub && errno == ENOENT && name != "..") {
        char target[4096];
        ssize_t n = ::readlinkat(dir.get(), name.c_str(), target, sizeof target - 1);
        if (n > 0) {
          target[n] = '\0';
          restart = (target[0] == '/' ? std::string() : parent + "/") + target + "/" +
                    (pos < todo.size() ? todo.substr(pos) : "");
          break;
        }
        if (::mkdirat(dir.get(), name.c_str(), 0755) < 0)
          return sys_error(errno, "workdir {}: make {}", path, prefix);
        sub = openat2_fd(dir.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW, 0,
                         RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH);
        if (!sub) return sys_error(errno, "workdir {}: open {}", path, prefix);
        // Owned by the user, as docker makes a missing WorkingDir.
        if ((uid != 0 || gid != 0) && ::fchownat(sub.get(), "", uid, gid, AT_EMPTY_PATH) < 0)
          return sys_error(errno, "workdir {}: chown {}", path, prefix);
      }
      if (!sub) return sys_error(errno, "workdir {}: {}", path, prefix);
      dir = std::move(sub);
    }
    if (restart.empty()) return {};
    todo = std::move(restart);
  }
}

}  // namespace detail

namespace {

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t i = line.find(':', start);
    out.push_back(line.substr(start, i == std::string_view::npos ? std::string_view::npos : i - start));
    if (i == std::string_view::npos) return out;
    start = i + 1;
  }
}

bool to_id(std::string_view s, uint32_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Calls f(fields) for each entry line of a passwd/group file (comments and
// malformed lines skipped, as libcontainer's parser does).
template <typename F>
void for_each_entry(std::string_view text, size_t min_fields, F&& f) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line.front() == '#') continue;
    auto fs = fields(line);
    if (fs.size() < min_fields) continue;
    if (f(fs)) return;
  }
}

}  // namespace

Result<ResolvedUser> resolve_user(const std::string& rootfs, std::string_view user) {
  BERTH_TRY_ASSIGN(root, detail::open_rootfs(rootfs));
  return detail::resolve_user_at(root, user);
}

Result<ResolvedUser> detail::resolve_user_at(const UniqueFd& root, std::string_view user) {
  auto colon = user.find(':');
  std::string_view user_arg = user.substr(0, colon);
  std::string_view group_arg = colon == std::string_view::npos ? std::string_view() : user.substr(colon + 1);
  if (colon != std::string_view::npos && group_arg.empty()) return error("user \"{}\": empty group", user);

  BERTH_TRY_ASSIGN(passwd, detail::read_in_root(root, "/etc/passwd"));

  ResolvedUser r;
  uint32_t uid_number = 0;
  bool numeric_user = user_arg.empty() || to_id(user_arg, uid_number);
  std::string matched_name;
  bool found = false;
  if (passwd) {
    for_each_entry(*passwd, 4, [&](const std::vector<std::string_view>& f) {
      uint32_t uid = 0, gid = 0;
      if (!to_id(f[2], uid) || !to_id(f[3], gid)) return false;
      if (numeric_user ? uid != uid_number : f[0] != user_arg) return false;
      r.uid = uid;
      r.gid = gid;
      if (f.size() > 5 && !f[5].empty()) r.home = std::string(f[5]);
      matched_name = std::string(f[0]);
      found = true;
      return true;
    });
  }
  if (!found) {
    if (!numeric_user)
      return error("user \"{}\": no such user in the image's /etc/passwd", user_arg);
    r.uid = uid_number;  // a number without an entry is taken as it is, gid 0
  }

  // Groups: an explicit group sets the primary gid; otherwise the user's
  // supplementary groups are those of /etc/group listing its name.
  uint32_t gid_number = 0;
  bool numeric_group = to_id(group_arg, gid_number);
  if (!group_arg.empty() && numeric_group) {
    r.gid = gid_number;
    return r;
  }
  if (group_arg.empty() && matched_name.empty()) return r;
  BERTH_TRY_ASSIGN(group, detail::read_in_root(root, "/etc/group"));
  bool group_found = false;
  if (group) {
    for_each_entry(*group, 3, [&](const std::vector<std::string_view>& f) {
      uint32_t gid = 0;
      if (!to_id(f[2], gid)) return false;
      if (!group_arg.empty()) {
        if (f[0] != group_arg) return false;
        r.gid = gid;
        group_found = true;
        return true;
      }
      if (f.size() < 4) return false;
      std::string_view members = f[3];
      size_t start = 0;
      while (start <= members.size()) {
        size_t comma = members.find(',', start);
        if (comma == std::string_view::npos) comma = members.size();
        if (members.substr(start, comma - start) == matched_name) {
          if (std::ranges::find(r.additional_gids, gid) == r.additional_gids.end()) r.additional_gids.push_back(gid);
          break;
        }
        start = comma + 1;
      }
      return false;
    });
  }
  if (!group_arg.empty() && !group_found)
    return error("group \"{}\": no such group in the image's /etc/group", group_arg);
  return r;
}

}  // namespace berth::engine
