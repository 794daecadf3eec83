// OCI hooks, run from the runtime process: fork + execve with exactly the
// hook's args and env, the state JSON on stdin, stdout/stderr captured, and
// the timeout enforced with SIGKILL. One poll loop watches the hook's pidfd,
// its output pipes and its stdin, so a hook that writes much before it reads
// cannot dead-lock us, and a hook that leaves a background child holding its
// pipes does not keep us waiting after it exited.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/fd.h"
#include "runtime/hooks.h"

namespace berth::runtime {
namespace {

constexpr size_t kKeepOutput = 4096;  // bytes of each stream kept for errors
constexpr size_t kTailShown = 200;

struct Pipe {
  UniqueFd read, write;
};

Result<Pipe> make_pipe(int flags) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | flags) < 0) return sys_error(errno, "pipe");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

int64_t now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

// Appends to `buf`, keeping only its last kKeepOutput bytes.
void keep_tail(std::string& buf, const char* data, size_t n) {
  buf.append(data, n);
  if (buf.size() > kKeepOutput) buf.erase(0, buf.size() - kKeepOutput);
}

// Reads what is available; returns false at EOF or on error.
bool drain(const UniqueFd& fd, std::string& buf) {
  char tmp[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), tmp, sizeof tmp);
    if (n > 0) {
      keep_tail(buf, tmp, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && errno == EAGAIN;
  }
}

std::string tail(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  if (s.size() > kTailShown) s = "..." + s.substr(s.size() - kTailShown);
  return s;
}

// Blocks SIGPIPE while writing the state so a hook that exits without
// reading stdin gives EPIPE, not a dead runtime; a SIGPIPE raised by our
// writes is consumed before the old mask comes back.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  ~SigpipeBlock() {
    if (!was_pending_) {
      timespec zero{};
      while (sigtimedwait(&set_, nullptr, &zero) == SIGPIPE) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t set_, old_;
  bool was_pending_ = false;
};

// The child side: stdio from the pipes, default signal state, every other fd
// closed at exec; on exec failure the errno goes back through `err`.
[[noreturn]] void exec_child(const char* path, char* const* argv, char* const* envp, int in,
                             int out, int errfd, int report) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl{};
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) ::sigaction(s, &dfl, nullptr);  // errors for KILL/STOP: fine
  // Lift the pipes above 2 first so no dup2 below overwrites another one.
  in = ::fcntl(in, F_DUPFD_CLOEXEC, 3);
  out = ::fcntl(out, F_DUPFD_CLOEXEC, 3);
  errfd = ::fcntl(errfd, F_DUPFD_CLOEXEC, 3);
  if (in < 0 || out < 0 || errfd < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 ||
      ::dup2(errfd, 2) < 0) {
    int e = errno;
    (void)!::write(report, &e, sizeof e);
    ::_exit(127);
  }
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  ::execve(path, argv, envp);
  int e = errno;
  (void)!::write(report, &e, sizeof e);
  ::_exit(127);
}

Result<> run_hook_as(const oci::Hook& hook, const std::string& state_json,
                     const std::string& label) {
  if (hook.path.empty() || hook.path[0] != '/')
    return error("{}: path must be absolute", label);

  // Everything the child needs is built before fork: no allocation after it.
  std::vector<std::string> args = hook.args;
  if (args.empty()) args.push_back(hook.path);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = hook.env;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  BERTH_TRY_ASSIGN(in, make_pipe(0));
  BERTH_TRY_ASSIGN(out, make_pipe(0));
  BERTH_TRY_ASSIGN(err, make_pipe(0));
  BERTH_TRY_ASSIGN(report, make_pipe(0));

  pid_t pid = ::fork();
  if (pid < 0) return sys_error(errno, "{}: fork", label);
  if (pid == 0)
    exec_child(hook.path.c_str(), argv.data(), envp.data(), in.read.get(), out.write.get(),
               err.write.get(), report.write.get());

  // Reaps the child on every path out of here (our runtime may be a subreaper).
  struct Reaper {
    pid_t pid;
    int status = 0;
    bool done = false;
    int wait() {
      while (!done) {
        if (::waitpid(pid, &status, 0) >= 0 || errno != EINTR) done = true;
      }
      return status;
    }
    void kill_and_reap() {
      if (done) return;
      ::kill(pid, SIGKILL);
      wait();
    }
    ~Reaper() { kill_and_reap(); }
  } reaper{pid};

  in.read.reset();
  out.write.reset();
  err.write.reset();
  report.write.reset();

  int exec_errno = 0;
  ssize_t rn;
  do {
    rn = ::read(report.read.get(), &exec_errno, sizeof exec_errno);
  } while (rn < 0 && errno == EINTR);
  if (rn == sizeof exec_errno) {
    reaper.wait();
    return sys_error(exec_errno, "{}: exec", label);
  }

  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  for (auto* fd : {&in.write, &out.read, &err.read})
    ::fcntl(fd->get(), F_SETFL, ::fcntl(fd->get(), F_GETFL) | O_NONBLOCK);

  SigpipeBlock sigpipe_block;
  std::string out_buf, err_buf;
  std::string_view pending = state_json;
  if (pending.empty()) in.write.reset();
  // The spec requires timeout > 0; anything else means none.
  const bool timed = hook.timeout && *hook.timeout > 0;
  const int64_t deadline = timed ? now_ms() + int64_t{*hook.timeout} * 1000 : -1;
  bool exited = false;

  while (!exited) {
    pollfd fds[4];
    int n = 0;
    int idx_pid = -1, idx_in = -1, idx_out = -1, idx_err = -1;
    if (pidfd) idx_pid = n, fds[n++] = {pidfd.get(), POLLIN, 0};
    if (in.write) idx_in = n, fds[n++] = {in.write.get(), POLLOUT, 0};
    if (out.read) idx_out = n, fds[n++] = {out.read.get(), POLLIN, 0};
    if (err.read) idx_err = n, fds[n++] = {err.read.get(), POLLIN, 0};

    int wait_ms = -1;
    if (deadline >= 0) wait_ms = static_cast<int>(std::max<int64_t>(0, deadline - now_ms()));
    if (!pidfd) wait_ms = wait_ms < 0 ? 50 : std::min(wait_ms, 50);  // no pidfd: poll waitpid

    int r = ::poll(fds, static_cast<nfds_t>(n), wait_ms);
    if (r < 0 && errno != EINTR) return sys_error(errno, "{}: poll", label);

    if (r > 0) {
      if (idx_in >= 0 && fds[idx_in].revents) {
        ssize_t w = ::write(in.write.get(), pending.data(), pending.size());
        if (w > 0) pending.remove_prefix(static_cast<size_t>(w));
        // EPIPE: the hook does not read its stdin; that is its business.
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || pending.empty()) in.write.reset();
      }
      if (idx_out >= 0 && fds[idx_out].revents && !drain(out.read, out_buf)) out.read.reset();
      if (idx_err >= 0 && fds[idx_err].revents && !drain(err.read, err_buf)) err.read.reset();
      if (idx_pid >= 0 && fds[idx_pid].revents) exited = true;
    }
    if (!pidfd) {
      int st = 0;
      pid_t w = ::waitpid(pid, &st, WNOHANG);
      if (w == pid) reaper.status = st, reaper.done = true, exited = true;
    }
    if (!exited && deadline >= 0 && now_ms() >= deadline) {
      reaper.kill_and_reap();
      return error("{} timed out after {} s", label, *hook.timeout);
    }
  }
  // The hook is gone; take what its pipes still hold without waiting for
  // descendants that may keep them open.
  if (out.read) drain(out.read, out_buf);
  if (err.read) drain(err.read, err_buf);

  int status = reaper.wait();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  std::string what;
  if (WIFEXITED(status)) {
    what = fmt::format("exit status {}", WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    const char* abbrev = sigabbrev_np(WTERMSIG(status));
    what = fmt::format("killed by signal {} (SIG{})", WTERMSIG(status), abbrev ? abbrev : "?");
  } else {
    what = fmt::format("wait status {:#x}", status);
  }
  std::string output = tail(err_buf.empty() ? out_buf : err_buf);
  if (!output.empty()) what += ": " + output;
  return error("{}: {}", label, what);
}

}  // namespace

Result<> run_hook(const oci::Hook& hook, const std::string& state_json) {
  return run_hook_as(hook, state_json, fmt::format("hook \"{}\"", hook.path));
}

Result<> run_hooks(const std::vector<oci::Hook>& hooks, const std::string& state_json,
                   const char* phase) {
  for (size_t i = 0; i < hooks.size(); ++i)
    BERTH_TRY(run_hook_as(hooks[i], state_json,
                          fmt::format("{} hook #{} \"{}\"", phase, i, hooks[i].path)));
  return {};
}

}  // namespace berth::runtime
