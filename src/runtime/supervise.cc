#include "runtime/supervise.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <utility>

namespace berth::runtime {
namespace {

bool forwardable(int sig) {
  switch (sig) {
    case SIGKILL: case SIGSTOP: case SIGSEGV: case SIGBUS: case SIGILL:
    case SIGFPE: case SIGTRAP: case SIGABRT: case SIGSYS:
      return false;
    default:
      return true;
  }
}

// Puts the caller's terminal in raw mode while the container owns it.
class RawTerminal {
 public:
  RawTerminal() {
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_) < 0) return;
    struct termios raw = saved_;
    cfmakeraw(&raw);
    raw.c_oflag |= OPOST;  // keep "\n" -> "\r\n" for our own messages
    active_ = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }

 private:
  struct termios saved_{};
  bool active_ = false;
};

void copy_winsize(int to) {
  struct winsize ws;
  if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) ioctl(to, TIOCSWINSZ, &ws);
}

bool pump(int from, int to) {
  char buf[16384];
  ssize_t n = read(from, buf, sizeof buf);
  if (n <= 0) return false;
  for (ssize_t off = 0; off < n;) {
    ssize_t w = write(to, buf + off, static_cast<size_t>(n - off));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    off += w;
  }
  return true;
}

}  // namespace

Result<ForwardedSignals> ForwardedSignals::block() {
  ForwardedSignals s;
  sigemptyset(&s.set_);
  for (int sig = 1; sig < NSIG; ++sig)
    if (forwardable(sig)) sigaddset(&s.set_, sig);
  if (sigprocmask(SIG_BLOCK, &s.set_, &s.old_) < 0) return sys_error(errno, "block signals");
  s.active_ = true;
  s.fd_.reset(signalfd(-1, &s.set_, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!s.fd_) return sys_error(errno, "signalfd");
  return s;
}

ForwardedSignals::ForwardedSignals(ForwardedSignals&& o) noexcept
    : set_(o.set_), old_(o.old_), fd_(std::move(o.fd_)), active_(std::exchange(o.active_, false)) {}

ForwardedSignals::~ForwardedSignals() {
  if (active_) sigprocmask(SIG_SETMASK, &old_, nullptr);
}

Result<int> supervise(pid_t pid, const ForwardedSignals& signals, const UniqueFd& master) {
  const int sigfd = signals.fd().get();
  std::optional<RawTerminal> raw;
  if (master) {
    raw.emplace();
    copy_winsize(master.get());
  }
  bool stdin_open = master.valid();
  for (;;) {
    int status;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (master) {  // drain what the container wrote last
        while (true) {
          struct pollfd p = {master.get(), POLLIN, 0};
          if (poll(&p, 1, 0) <= 0 || !pump(master.get(), STDOUT_FILENO)) break;
        }
      }
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return 128 + WTERMSIG(status);
    }
    if (r < 0 && errno != EINTR) return sys_error(errno, "wait for process {}", pid);
    struct pollfd p[3] = {{sigfd, POLLIN, 0},
                          {master ? master.get() : -1, POLLIN, 0},
                          {stdin_open ? STDIN_FILENO : -1, POLLIN, 0}};
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return sys_error(errno, "poll");
    }
    if (p[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sigfd, &si, sizeof si) == sizeof si) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGCHLD) continue;
        if (sig == SIGWINCH && master) {
          copy_winsize(master.get());
          continue;
        }
        if (sigismember(&signals.set(), sig)) ::kill(pid, sig);
      }
    }
    if (p[1].revents & (POLLIN | POLLHUP)) {
      if (!pump(master.get(), STDOUT_FILENO)) {
        // EIO: every slave fd closed; the process exits soon.
        struct pollfd sp = {sigfd, POLLIN, 0};
        poll(&sp, 1, 100);
      }
    }
    if (p[2].revents & (POLLIN | POLLHUP)) {
      if (!pump(STDIN_FILENO, master.get())) stdin_open = false;
    }
  }
}

}  // namespace berth::runtime
