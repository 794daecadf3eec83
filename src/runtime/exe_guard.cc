#include "runtime/exe_guard.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "base/fd.h"
#include "base/file.h"

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

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_ino == b.st_ino && a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec && a.st_ctim.tv_sec == b.st_ctim.tv_sec &&
         a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

bool on_readonly_overlay(int fd) {
  struct statfs fs {};
  return ::fstatfs(fd, &fs) == 0 && fs.f_type == kOverlayfsMagic && (fs.f_flags & ST_RDONLY);
}

// `name` in the cached overlay at `mnt`, if that is a read-only overlay
// showing the very file that runs (overlayfs reports a lower file's own inode
// number, size and times): a rebuilt binary makes the cache stale.
UniqueFd open_cached_image(const std::string& mnt, const std::string& name, const struct stat& self) {
  UniqueFd exe(::open((mnt + "/" + name).c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  if (!exe || !on_readonly_overlay(exe.get()) || ::fstat(exe.get(), &st) < 0 || !S_ISREG(st.st_mode) ||
      !same_file(st, self))
    return {};
  return exe;
}

// A lower-only overlay of `dir` (the binary's directory on top, so nothing in
// the empty second layer masks it), read-only, not yet attached.
Result<UniqueFd> make_overlay(const std::string& dir) {
  if (::mkdir(kExeSealDir, 0700) < 0 && errno != EEXIST) return sys_error(errno, "create \"{}\"", kExeSealDir);
  if (::mkdir(kExeSealLowerDir, 0700) < 0 && errno != EEXIST)
    return sys_error(errno, "create \"{}\"", kExeSealLowerDir);
  UniqueFd ctx(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!ctx) return sys_error(errno, "fsopen overlay");
  std::string lower = escape_lowerdir(dir) + ":" + kExeSealLowerDir;
  if (::fsconfig(ctx.get(), FSCONFIG_SET_STRING, "lowerdir", lower.c_str(), 0) < 0)
    return sys_error(errno, "overlay lowerdir=\"{}\"", lower);
  (void)::fsconfig(ctx.get(), FSCONFIG_SET_STRING, "xino", "off", 0);  // only quiets dmesg
  if (::fsconfig(ctx.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
    return sys_error(errno, "create overlay of \"{}\"", dir);
  UniqueFd mnt(::fsmount(ctx.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID));
  if (!mnt) return sys_error(errno, "mount overlay of \"{}\"", dir);
  return mnt;
}

// Cached overlays whose binary directory is gone are detached, so that
// runtimes run from short-lived directories do not pile up mounts.
void sweep_stale_overlays() {
  std::string prefix = std::string(kExeSealDir) + "/";
  auto text = read_file("/proc/self/mountinfo");
  if (!text) return;
  size_t pos = 0;
  while (pos < text->size()) {
    size_t eol = text->find('\n', pos);
    if (eol == std::string::npos) eol = text->size();
    std::string_view line(text->data() + pos, eol - pos);
    pos = eol + 1;
    // "id parent major:minor root mountpoint ... - overlay source options"
    size_t f = 0;
    for (int i = 0; i < 4 && f != std::string_view::npos; ++i) f = line.find(' ', f + 1);
    if (f == std::string_view::npos) continue;
    std::string_view point = line.substr(f + 1, line.find(' ', f + 1) - f - 1);
    if (!point.starts_with(prefix) || line.find(" - overlay ") == std::string_view::npos) continue;
    size_t lo = line.find("lowerdir=");
    if (lo == std::string_view::npos) continue;
    std::string_view lower = line.substr(lo + 9);
    lower = lower.substr(0, std::min(lower.find(':'), lower.find(',')));
    // mountinfo escapes space, tab, newline and backslash as \ooo: such paths are left alone.
    if (lower.find('\\') != std::string_view::npos) continue;
    struct stat st {};
    if (::stat(std::string(lower).c_str(), &st) < 0 && errno == ENOENT)
      (void)::umount2(std::string(point).c_str(), MNT_DETACH);
  }
}

// The running binary through a read-only overlayfs of its directory (runc
// 1.2's sealedOverlayfs): no copy, and unlike a read-only bind mount it
// cannot be made writable, since a lower-only overlay has nowhere to write
// (its superblock is read-only, whichever mount shows it).
//
// The overlay is attached under kExeSealDir once and reused by every later
// run of a binary from the same directory: an anonymous one per run cost two
// RCU grace periods (dissolving the detached mount, then tearing down the
// overlay at exit), 1 to 4 ms on a loaded machine.
Result<UniqueFd> overlay_image_of_self() {
  char buf[PATH_MAX] = {};
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return sys_error(errno, "readlink \"/proc/self/exe\"");
  std::string self_path(buf, static_cast<size_t>(n));
  // Deleted or replaced on disk: the path no longer leads to what runs.
  if (self_path.ends_with(" (deleted)") || self_path.front() != '/')
    return error("runtime binary \"{}\" is gone", self_path);
  struct stat self {};
  if (::stat("/proc/self/exe", &self) < 0) return sys_error(errno, "stat \"/proc/self/exe\"");
  auto slash = self_path.rfind('/');
  std::string dir = slash == 0 ? "/" : self_path.substr(0, slash);
  std::string name = self_path.substr(slash + 1);
  std::string mnt = fmt::format("{}/{:016x}", kExeSealDir, exe_seal_hash(dir));
  if (auto exe = open_cached_image(mnt, name, self)) return exe;

  BERTH_TRY_ASSIGN(overlay, make_overlay(dir));
  // One runtime at a time attaches (racing ones would stack mounts).
  UniqueFd lock(::open(kExeSealDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!lock) return sys_error(errno, "open \"{}\"", kExeSealDir);
  while (::flock(lock.get(), LOCK_EX) < 0) {
    if (errno != EINTR) return sys_error(errno, "lock \"{}\"", kExeSealDir);
  }
  if (auto exe = open_cached_image(mnt, name, self)) return exe;
  sweep_stale_overlays();
  // A stale overlay (the binary was rebuilt) goes; processes still running from it keep it.
  for (int i = 0; i < 8; ++i) {
    struct statfs fs {};
    if (::statfs(mnt.c_str(), &fs) < 0 || fs.f_type != kOverlayfsMagic) break;
    if (::umount2(mnt.c_str(), MNT_DETACH) < 0) break;
  }
  if (::mkdir(mnt.c_str(), 0700) < 0 && errno != EEXIST) return sys_error(errno, "create \"{}\"", mnt);
  if (::move_mount(overlay.get(), "", AT_FDCWD, mnt.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0) {
    // Attaching may be refused (e.g. a locked mount tree): an anonymous overlay still protects.
    UniqueFd exe(::openat(overlay.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (!exe || ::fstat(exe.get(), &st) < 0 || !S_ISREG(st.st_mode))
      return error("\"{}\" in overlay of \"{}\" is not a file", name, dir);
    return exe;
  }
  if (auto exe = open_cached_image(mnt, name, self)) return exe;
  return error("\"{}\" in overlay at \"{}\" is not the running binary", name, mnt);
}

}  // namespace

// Whether /proc/self/exe names a file under kExeSealDir (root-only, where
// only this guard attaches its lower-only overlays).
static bool exe_in_seal_dir() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return false;
  std::string_view path(buf, static_cast<size_t>(n));
  std::string prefix = std::string(kExeSealDir) + "/";
  return path.starts_with(prefix);
}

bool exe_is_on_readonly_overlay() {
  int fd = ::open("/proc/self/exe", O_PATH | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = on_readonly_overlay(fd);
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
  // Once found protected, later calls (main's early one, then the verb's) are free.
  static bool protected_exe = false;
  if (protected_exe) return {};
  if (argc < 1 || argv == nullptr || argv[argc] != nullptr) return error("ensure protected exe: bad argv");
  bool reexeced = ::getenv(kBerthClonedEnv) != nullptr;
  // The container's process is exec'd from us: it must not see our marker.
  ::unsetenv(kBerthClonedEnv);
  // A read-only overlay counts only when we made it: the marker says so, or
  // the binary was started from one of our cached seals (berth's exit
  // command, berth-monitor: children exec'd by their path), which sealing
  // again would only stack overlays on.
  if (((reexeced || exe_in_seal_dir()) && exe_is_on_readonly_overlay()) || exe_is_sealed()) {
    protected_exe = true;
    return {};
  }
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
