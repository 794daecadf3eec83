#include "base/fds.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <climits>

namespace berth {
namespace {

// The smallest kept fd >= from, or -1. `keep` is tiny: a linear scan beats
// sorting a copy (which would allocate between clone and exec).
int next_kept(const std::vector<int>& keep, int from) {
  int best = -1;
  for (int k : keep)
    if (k >= from && (best < 0 || k < best)) best = k;
  return best;
}

bool is_kept(const std::vector<int>& keep, int fd) {
  for (int k : keep)
    if (k == fd) return true;
  return false;
}

int sys_close_range(unsigned first, unsigned last, unsigned flags) {
  return static_cast<int>(::syscall(SYS_close_range, first, last, flags));
}

// Applies close_range(flags) to [lowest, ∞) minus `keep`.
int close_range_except(int lowest, const std::vector<int>& keep, unsigned flags) {
  int cur = lowest;
  for (;;) {
    int k = next_kept(keep, cur);
    unsigned last = k < 0 ? UINT_MAX : static_cast<unsigned>(k - 1);
    if (k != cur && sys_close_range(static_cast<unsigned>(cur), last, flags) < 0) return -1;
    if (k < 0) return 0;
    cur = k + 1;
  }
}

// The /proc/self/fd walk for kernels without close_range (< 5.9) or its
// CLOEXEC flag (< 5.11). getdents64 into a stack buffer: no allocation.
// Closing while walking is fine: procfs lists fds by number, not by a cursor
// into a list that closing would shift.
template <typename Fn>
Result<> for_each_fd_from(int lowest, const std::vector<int>& keep, Fn fn) {
  int dir = ::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return sys_error(errno, "open \"/proc/self/fd\"");
  alignas(8) char buf[4096];
  for (;;) {
    long n = ::syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (n < 0) {
      int err = errno;
      ::close(dir);
      return sys_error(err, "read \"/proc/self/fd\"");
    }
    if (n == 0) break;
    for (long off = 0; off < n;) {
      // struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, char name[].
      const char* rec = buf + off;
      unsigned short reclen;
      __builtin_memcpy(&reclen, rec + 16, sizeof reclen);
      const char* name = rec + 19;
      off += reclen;
      int fd = -1;
      const char* end = name + __builtin_strlen(name);
      auto [p, ec] = std::from_chars(name, end, fd);
      if (ec != std::errc() || p != end) continue;  // "." and ".."
      if (fd < lowest || fd == dir || is_kept(keep, fd)) continue;
      fn(fd);
    }
  }
  ::close(dir);
  return {};
}

}  // namespace

Result<> set_cloexec(int fd, bool on) {
  int flags = ::fcntl(fd, F_GETFD);
  if (flags < 0) return sys_error(errno, "get flags of fd {}", fd);
  int want = on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
  if (want != flags && ::fcntl(fd, F_SETFD, want) < 0)
    return sys_error(errno, "set close-on-exec of fd {}", fd);
  return {};
}

Result<> close_fds_from(int lowest, const std::vector<int>& keep) {
  if (lowest < 0) return error("close fds: invalid lowest fd {}", lowest);
  if (close_range_except(lowest, keep, 0) == 0) return {};
  if (errno != ENOSYS && errno != EINVAL) return sys_error(errno, "close fds from {}", lowest);
  return for_each_fd_from(lowest, keep, [](int fd) { ::close(fd); });
}

Result<> mark_cloexec_from(int lowest, const std::vector<int>& keep) {
  if (lowest < 0) return error("mark fds close-on-exec: invalid lowest fd {}", lowest);
  if (close_range_except(lowest, keep, CLOSE_RANGE_CLOEXEC) < 0) {
    if (errno != ENOSYS && errno != EINVAL)
      return sys_error(errno, "mark fds close-on-exec from {}", lowest);
    BERTH_TRY(for_each_fd_from(lowest, keep, [](int fd) {
      int flags = ::fcntl(fd, F_GETFD);
      if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }));
  }
  // Kept fds must survive exec even if someone opened them O_CLOEXEC.
  for (int fd : keep) {
    if (fd < lowest) continue;
    auto r = set_cloexec(fd, false);
    if (!r && r.error().code() != EBADF) return r;
  }
  return {};
}

Result<InheritedFds> plan_inherited_fds(int preserve_fds, const std::optional<std::string>& listen_fds,
                                        const std::optional<std::string>& listen_pid, pid_t self) {
  if (preserve_fds < 0) return error("--preserve-fds: must not be negative, got {}", preserve_fds);
  InheritedFds out;
  // As go-systemd's activation.Files (which runc uses): the fds are ours only
  // when LISTEN_PID names this process; a malformed value means none.
  if (listen_fds && listen_pid) {
    int pid = 0, n = 0;
    auto [pp, pe] = std::from_chars(listen_pid->data(), listen_pid->data() + listen_pid->size(), pid);
    auto [np, ne] = std::from_chars(listen_fds->data(), listen_fds->data() + listen_fds->size(), n);
    bool pid_ok = pe == std::errc() && pp == listen_pid->data() + listen_pid->size();
    bool n_ok = ne == std::errc() && np == listen_fds->data() + listen_fds->size();
    if (pid_ok && n_ok && pid == self && n > 0) out.listen_fds = n;
  }
  constexpr int kMaxFds = 1 << 20;  // beyond any nofile limit: a typo, not a request
  if (preserve_fds > kMaxFds || out.listen_fds > kMaxFds)
    return error("--preserve-fds: {} fds is more than any process can have",
                 preserve_fds + out.listen_fds);
  int total = out.listen_fds + preserve_fds;
  out.keep.reserve(static_cast<size_t>(total));
  for (int i = 0; i < total; ++i) out.keep.push_back(3 + i);
  if (out.listen_fds > 0) {
    // Inside the container the fds belong to its pid 1.
    out.env.push_back(fmt::format("LISTEN_FDS={}", out.listen_fds));
    out.env.push_back("LISTEN_PID=1");
  }
  return out;
}

Result<InheritedFds> prepare_inherited_fds(int preserve_fds) {
  auto env = [](const char* name) -> std::optional<std::string> {
    const char* v = ::getenv(name);
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  BERTH_TRY_ASSIGN(plan, plan_inherited_fds(preserve_fds, env("LISTEN_FDS"), env("LISTEN_PID"), ::getpid()));
  for (int fd : plan.keep) {
    if (::fcntl(fd, F_GETFD) < 0) {
      bool listen = fd < 3 + plan.listen_fds;
      return sys_error(errno, "{} fd {} is not open", listen ? "LISTEN_FDS" : "--preserve-fds", fd);
    }
  }
  return plan;
}

}  // namespace berth
