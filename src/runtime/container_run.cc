// `run`: create + start, then (in the foreground) wait for the container's
// process, forwarding signals and serving its terminal, and delete it.
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "base/log.h"
#include "runtime/container.h"
#include "runtime/launch.h"

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

// Waits for `pid`, forwarding every forwardable signal to it and copying
// between the caller's stdio and the pty master when there is one.
Result<int> supervise(pid_t pid, const sigset_t& signals, int sigfd, const UniqueFd& master) {
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
        if (sigismember(&signals, sig)) ::kill(pid, sig);
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

}  // namespace

Result<int> Runtime::run(const CreateOptions& opts, bool detach) {
  BERTH_TRY_ASSIGN(c, launch(store_, opts, !detach));
  const std::string& id = opts.id;

  // Signals are blocked from here on and read from a signalfd; the container
  // process already reset its own mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig = 1; sig < NSIG; ++sig)
    if (forwardable(sig)) sigaddset(&signals, sig);
  sigset_t old;
  sigprocmask(SIG_BLOCK, &signals, &old);
  int sigfd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigfd < 0) return sys_error(errno, "signalfd");
  UniqueFd sigfd_owner(sigfd);

  // The record and hooks are in hand: no state or config to read back.
  const oci::Hooks* hooks = c.spec.hooks ? &*c.spec.hooks : nullptr;
  {
    BERTH_TRY_ASSIGN(lock, store_.lock(id));
    if (auto r = release_init(store_, c.record, hooks); !r) {
      lock.reset();
      (void)remove(id, true);
      return std::unexpected(std::move(r).error());
    }
  }
  if (detach) {
    sigprocmask(SIG_SETMASK, &old, nullptr);
    return 0;
  }
  auto code = supervise(c.record.pid, signals, sigfd, c.pty_master);
  log::debug("run {}: process exited", id);
  c.pty_master.reset();
  // supervise() reaped the process: only the teardown of delete is left.
  auto lock = store_.lock(id);
  auto r = lock ? delete_stopped(store_, c.record, hooks) : Result<>(std::unexpected(lock.error()));
  if (!r) log::warn("delete container \"{}\": {}", id, r.error().what());
  sigprocmask(SIG_SETMASK, &old, nullptr);
  return code;
}

}  // namespace berth::runtime
