// maskedPaths and readonlyPaths, after pivot_root: every path is the
// container's own. A missing path is skipped (the spec's lists name paths that
// a kernel may not have).
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

// Where to mount onto an O_PATH fd: through /proc/self/fd when the
// container has a /proc (the fd pins what was checked), else the path itself.
std::string mount_target(const UniqueFd& fd, const std::string& path, bool have_proc) {
  return have_proc ? fd_path(fd) : path;
}

bool have_proc_fds() { return ::access("/proc/self/fd", F_OK) == 0; }

}  // namespace

Result<> apply_readonly_paths(const std::vector<std::string>& paths) {
  const bool have_proc = !paths.empty() && have_proc_fds();
  for (const auto& path : paths) {
    int fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      return sys_error(errno, "readonly path \"{}\"", path);
    }
    UniqueFd target(fd);
    const std::string where = mount_target(target, path, have_proc);
    BERTH_TRY(sys_mount(where.c_str(), where, nullptr, MS_BIND | MS_REC,
                        nullptr, fmt::format("bind readonly path \"{}\"", path)));
    // The fd still names the covered inode: open the new mount for the remount.
    int mfd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
    if (mfd < 0) return sys_error(errno, "readonly path \"{}\"", path);
    UniqueFd mounted(mfd);
    BERTH_TRY(remount_bind(mounted, mount_flags_of(mounted) | MS_RDONLY, path));
  }
  return {};
}

Result<> apply_masked_paths(const std::vector<std::string>& paths, const std::string& mount_label) {
  if (paths.empty()) return {};
  // A file is masked with the container's /dev/null: make sure it is the null
  // device and not something a hostile image put there (CVE-2025-31133).
  int nfd = ::open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (nfd < 0) return sys_error(errno, "open \"/dev/null\" to mask paths");
  UniqueFd null(nfd);
  struct stat nst {};
  if (::fstat(null.get(), &nst) < 0) return sys_error(errno, "stat \"/dev/null\"");
  if (!S_ISCHR(nst.st_mode) || major(nst.st_rdev) != 1 || minor(nst.st_rdev) != 3) {
    return error("\"/dev/null\" is not the null device (1:3): refusing to mask paths with it");
  }
  const std::string tmpfs_data = join_data("", mount_label);
  bool have_proc = have_proc_fds();
  for (const auto& path : paths) {
    // Symlinks are followed, as in runc: after pivot_root they cannot leave the container.
    int fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      return sys_error(errno, "masked path \"{}\"", path);
    }
    UniqueFd target(fd);
    struct stat st {};
    if (::fstat(target.get(), &st) < 0) return sys_error(errno, "stat masked path \"{}\"", path);
    const std::string where = mount_target(target, path, have_proc);
    if (S_ISDIR(st.st_mode)) {
      BERTH_TRY(sys_mount("tmpfs", where, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                          tmpfs_data.empty() ? nullptr : tmpfs_data.c_str(),
                          fmt::format("mask \"{}\" with an empty tmpfs", path)));
    } else {
      BERTH_TRY(sys_mount(mount_target(null, "/dev/null", have_proc).c_str(), where, nullptr, MS_BIND, nullptr,
                          fmt::format("mask \"{}\" with /dev/null", path)));
    }
    // Masking /proc (or part of it) takes /proc/self/fd away.
    if (path == "/proc" || path.starts_with("/proc/self")) have_proc = have_proc_fds();
  }
  return {};
}

}  // namespace berth::runtime::detail
