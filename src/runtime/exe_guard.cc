#include "runtime/exe_guard.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

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

}  // namespace

bool exe_is_sealed() {
  int fd = ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  int seals = ::fcntl(fd, F_GET_SEALS);  // EINVAL on anything but a memfd/shmem file
  ::close(fd);
  return seals >= 0 && (seals & kBaseSeals) == kBaseSeals;
}

Result<> ensure_protected_exe(int argc, char** argv) {
  if (argc < 1 || argv == nullptr || argv[argc] != nullptr) return error("ensure protected exe: bad argv");
  bool reexeced = ::getenv(kBerthClonedEnv) != nullptr;
  // The container's process is exec'd from us: it must not see our marker.
  ::unsetenv(kBerthClonedEnv);
  if (exe_is_sealed()) return {};
  // Re-executed yet not sealed: something undid the seal; never loop.
  if (reexeced) return error("re-executed from a sealed copy, but \"/proc/self/exe\" is not sealed");

  BERTH_TRY_ASSIGN(copy, sealed_copy_of_self());
  if (::setenv(kBerthClonedEnv, "1", 1) < 0) return sys_error(errno, "setenv {}", kBerthClonedEnv);
  // execveat(AT_EMPTY_PATH) runs the memfd itself, without a /proc path that
  // the close-on-exec memfd would no longer have by the time the kernel needs it.
  ::syscall(SYS_execveat, copy.get(), "", argv, environ, AT_EMPTY_PATH);
  int err = errno;
  ::unsetenv(kBerthClonedEnv);
  return sys_error(err, "re-execute from sealed copy of the runtime");
}

}  // namespace berth::runtime
