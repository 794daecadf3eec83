// process.user: supplementary groups, gid, uid and umask. Raw syscalls, not
// glibc's wrappers: those broadcast the change to every thread of the process
// (setxid), machinery that must not run in a clone child.
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/process_attrs.h"

namespace berth::runtime {
namespace {

// /proc/self/setgroups says "deny" in a user namespace whose gid map was
// written without setgroups permission (rootless).
bool setgroups_denied() {
  int fd = ::open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[16] = {};
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  return n > 0 && std::strncmp(buf, "deny", 4) == 0;
}

std::string join_ids(const std::vector<uint32_t>& ids) {
  std::string out;
  for (auto id : ids) {
    if (!out.empty()) out += ',';
    out += fmt::format("{}", id);
  }
  return out;
}

}  // namespace

Result<> set_identity(const oci::User& user) {
  // Keep the permitted set across the uid change; apply_capabilities then
  // sets the configured sets (runc's order).
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return sys_error(errno, "set keepcaps");

  std::vector<gid_t> groups(user.additional_gids.begin(), user.additional_gids.end());
  if (::syscall(SYS_setgroups, groups.size(), groups.empty() ? nullptr : groups.data()) < 0) {
    int err = errno;
    bool denied = err == EPERM && setgroups_denied();
    if (!denied || !groups.empty())
      return sys_error(err, "setgroups [{}]{}", join_ids(user.additional_gids),
                       denied ? " (setgroups is denied in this user namespace)" : "");
    // Rootless without setgroups: nothing to drop, nothing can be added.
  }
  if (::syscall(SYS_setresgid, user.gid, user.gid, user.gid) < 0)
    return sys_error(errno, "setresgid {}", user.gid);
  if (::syscall(SYS_setresuid, user.uid, user.uid, user.uid) < 0)
    return sys_error(errno, "setresuid {}", user.uid);

  // Capabilities already kept; later uid changes by the process itself should
  // not keep them.
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return sys_error(errno, "clear keepcaps");
  return apply_umask(user);
}

Result<> apply_umask(const oci::User& user) {
  uint32_t mask = user.umask.value_or(022);
  if (mask > 0777) return error("process.user.umask {:#o} is not a file mode mask", mask);
  ::umask(static_cast<mode_t>(mask));
  return {};
}

}  // namespace berth::runtime
