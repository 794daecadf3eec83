#include "runtime/exe_guard.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "base/fd.h"

extern char** environ;

namespace berth::runtime {
namespace {

#ifndef MFD_EXEC
constexpr unsigned MFD_EXEC = 0x0010U;  // Linux 6.3: executable even under vm.memfd_noexec=1
#endif
#ifndef F_SEAL_EXEC
constexpr int F_SEAL_EXEC = 0x0020;  // Linux 6.3: the mode bits can no longer change
#endif

constexpr int kBaseSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

Result<UniqueFd> create_exec_memfd() {
  unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
  int fd = ::memfd_create("berth-runtime", flags | MFD_EXEC);
  if (fd < 0 && errno == EINVAL) fd = ::memfd_create("berth-runtime", flags);  // kernel < 6.3
  if (fd < 0) return sys_error(errno, "create memfd for a sealed copy of the runtime");
  return UniqueFd(fd);
}

Result<UniqueFd> sealed_copy_of_self() {
  int src_fd = ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (src_fd < 0) return sys_error(errno, "open \"/proc/self/exe\"");
  UniqueFd src(src_fd);
  struct stat st {};
  if (::fstat(src.get(), &st) < 0) return sys_error(errno, "stat \"/proc/self/exe\"");
  BERTH_TRY_ASSIGN(memfd, create_exec_memfd());

  // sendfile copies in the kernel (no user-space buffer); copy_file_range
  // would refuse to cross from the binary's filesystem to tmpfs.
  off_t copied = 0;
  while (copied < st.st_size) {
    ssize_t n = ::sendfile(memfd.get(), src.get(), nullptr, static_cast<size_t>(st.st_size - copied));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error(errno, "copy \"/proc/self/exe\" into memfd");
    if (n == 0) break;
    copied += n;
  }
  if (copied != st.st_size)
    return error("copy \"/proc/self/exe\" into memfd: copied {} of {} bytes", copied, st.st_size);

  // r-x for everyone and no write bit, as runc does; F_SEAL_EXEC then freezes the mode.
  if (::fchmod(memfd.get(), 0511) < 0) return sys_error(errno, "chmod sealed runtime copy");
  (void)::fcntl(memfd.get(), F_ADD_SEALS, F_SEAL_EXEC);  // optional: older kernels lack it
  if (::fcntl(memfd.get(), F_ADD_SEALS, kBaseSeals) < 0) return sys_error(errno, "seal runtime copy");
  return memfd;
}

constexpr long kOverlayfsMagic = 0x794c7630;

// overlayfs splits lowerdir on ':' and takes a backslash as an escape.
std::string escape_lowerdir(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == ':' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// The running binary through a read-only overlayfs that is mounted nowhere
// (runc 1.2's sealedOverlayfs): no copy, and unlike a read-only bind mount it
// cannot be remounted writable, since a lower-only overlay has nowhere to
// write. The mount lives as long as the exec'd file keeps it.
Result<UniqueFd> overlay_image_of_self() {
  char buf[PATH_MAX] = {};
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return sys_error(errno, "readlink \"/proc/self/exe\"");
  std::string self(buf, static_cast<size_t>(n));
  // Deleted or replaced on disk: the path no longer leads to what runs.
  if (self.ends_with(" (deleted)") || self.front() != '/') return error("runtime binary \"{}\" is gone", self);
  auto slash = self.rfind('/');
  std::string dir = slash == 0 ? "/" : self.substr(0, slash);
  std::string name = self.substr(slash + 1);
  if (::mkdir(kExeSealLowerDir, 0700) < 0 && errno != EEXIST)
    return sys_error(errno, "create \"{}\"", kExeSealLowerDir);

  UniqueFd ctx(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!ctx) return sys_error(errno, "fsopen overlay");
  // The binary's directory on top, so nothing in the extra layer masks it.
  std::string lower = escape_lowerdir(dir) + ":" + kExeSealLowerDir;
  if (::fsconfig(ctx.get(), FSCONFIG_SET_STRING, "lowerdir", lower.c_str(), 0) < 0)
    return sys_error(errno, "overlay lowerdir=\"{}\"", lower);
  (void)::fsconfig(ctx.get(), FSCONFIG_SET_STRING, "xino", "off", 0);  // only quiets dmesg
  if (::fsconfig(ctx.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
    return sys_error(errno, "create overlay of \"{}\"", dir);
  UniqueFd mnt(::fsmount(ctx.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID));
  if (!mnt) return sys_error(errno, "mount overlay of \"{}\"", dir);
  UniqueFd exe(::openat(mnt.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!exe) return sys_error(errno, "open \"{}\" in overlay of \"{}\"", name, dir);
  struct stat st {};
  if (::fstat(exe.get(), &st) < 0 || !S_ISREG(st.st_mode)) return error("\"{}\" in overlay is not a file", name);
  return exe;
}

}  // namespace

bool exe_is_on_readonly_overlay() {
  int fd = ::open("/proc/self/exe", O_PATH | O_CLOEXEC);
  if (fd < 0) return false;
  struct statfs fs {};
  bool ok = ::fstatfs(fd, &fs) == 0 && fs.f_type == kOverlayfsMagic && (fs.f_flags & ST_RDONLY);
  ::close(fd);
  return ok;
}

bool exe_is_sealed() {
  int fd = ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  int seals = ::fcntl(fd, F_GET_SEALS);  // EINVAL on anything but a memfd/shmem file
  ::close(fd);
  return seals >= 0 && (seals & kBaseSeals) == kBaseSeals;
}

Result<> ensure_protected_exe(int argc, char** argv) { return ensure_protected_exe(argc, argv, ExeSeal::any); }

Result<> ensure_protected_exe(int argc, char** argv, ExeSeal how) {
  if (argc < 1 || argv == nullptr || argv[argc] != nullptr) return error("ensure protected exe: bad argv");
  bool reexeced = ::getenv(kBerthClonedEnv) != nullptr;
  // The container's process is exec'd from us: it must not see our marker.
  ::unsetenv(kBerthClonedEnv);
  if (exe_is_sealed()) return {};
  // A read-only overlay counts only when we made it: the marker says so.
  if (reexeced && exe_is_on_readonly_overlay()) return {};
  // Re-executed yet not protected: something undid it; never loop.
  if (reexeced) return error("re-executed from a sealed copy, but \"/proc/self/exe\" is not sealed");

  UniqueFd image;
  if (how != ExeSeal::memfd) {
    auto ovl = overlay_image_of_self();
    if (ovl) image = std::move(*ovl);
    else if (how == ExeSeal::overlay) return std::unexpected(std::move(ovl).error());
  }
  if (!image) {
    BERTH_TRY_ASSIGN(copy, sealed_copy_of_self());
    image = std::move(copy);
  }
  if (::setenv(kBerthClonedEnv, "1", 1) < 0) return sys_error(errno, "setenv {}", kBerthClonedEnv);
  // execveat(AT_EMPTY_PATH) runs the image itself: no path for anyone to swap,
  // and none needed after close-on-exec has dropped the fd.
  ::syscall(SYS_execveat, image.get(), "", argv, environ, AT_EMPTY_PATH);
  int err = errno;
  ::unsetenv(kBerthClonedEnv);
  return sys_error(err, "re-execute from a read-only image of the runtime");
}

}  // namespace berth::runtime
