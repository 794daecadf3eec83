#include "base/openat2.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace berth {

UniqueFd openat2_fd(int dirfd, const char* path, int flags, mode_t mode, uint64_t resolve) {
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags) | O_CLOEXEC;
  // The kernel rejects a mode without O_CREAT/O_TMPFILE.
  how.mode = (flags & (O_CREAT | __O_TMPFILE)) ? mode : 0;
  how.resolve = resolve;
  for (int attempt = 0;; ++attempt) {
    int fd = static_cast<int>(syscall(SYS_openat2, dirfd, path, &how, sizeof(how)));
    if (fd < 0 && errno == EAGAIN && attempt < 64) continue;
    return UniqueFd(fd);
  }
}

}  // namespace berth
