#include "engine/monitor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "base/channel.h"
#include "base/fds.h"
#include "base/file.h"
#include "engine/monitor_protocol.h"
#include "runtime/console.h"

namespace berth::engine {
namespace mp = monitor_protocol;
namespace {

// A listening SOCK_STREAM socket at `path` (runc's console-socket side),
// bound relative to its directory since the full path may exceed sun_path.
Result<UniqueFd> listen_console(const std::string& dir, const std::string& name) {
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!sock) return sys_error(errno, "create console socket");
  UniqueFd cwd(::open(".", O_PATH | O_CLOEXEC));
  if (::chdir(dir.c_str()) < 0) return sys_error(errno, "enter \"{}\"", dir);
  ::unlink(name.c_str());
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, name.c_str(), name.size() + 1);
  int r = ::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  if (cwd) (void)::fchdir(cwd.get());
  if (r < 0) return sys_error(err, "bind console socket \"{}/{}\"", dir, name);
  if (::listen(sock.get(), 1) < 0) return sys_error(errno, "listen on console socket");
  return sock;
}

// The pty master the runtime sent during create (it connects and sends
// before its create returns; a short wait covers a slow runtime anyway).
Result<UniqueFd> receive_console(const UniqueFd& listener) {
  pollfd p{listener.get(), POLLIN, 0};
  int r;
  do {
    r = ::poll(&p, 1, 5000);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return error("the runtime sent no terminal on the console socket");
  UniqueFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) return sys_error(errno, "accept on console socket");
  return runtime::recv_fd(conn);
}

std::vector<std::string> monitor_argv(const MonitorSpec& spec, pid_t init) {
  std::vector<std::string> argv = {spec.monitor_binary,
                                   "--id", spec.id,
                                   "--run-dir", spec.run_dir,
                                   "--log", spec.log_path,
                                   "--log-max-size", std::to_string(spec.log_max_size),
                                   "--log-max-files", std::to_string(spec.log_max_files),
                                   "--pid", std::to_string(init)};
  if (spec.terminal) argv.push_back("--terminal");
  if (spec.stdin_open) argv.push_back("--stdin");
  argv.push_back("--");
  argv.insert(argv.end(), spec.exit_command.begin(), spec.exit_command.end());
  return argv;
}

void reset_signals() {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
}

// The monitor process before its exec: stdio, create, then berth-monitor.
// Returns only an error (the caller sends it back).
Error monitor_child(const MonitorSpec& spec, const std::function<Result<pid_t>(const ContainerStdio&)>& create,
                    Channel& sync) {
  if (::setsid() < 0) return Error(errno, "become session leader");
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) return Error(errno, "become child subreaper");
  // The container inherits what the caller had set (an ignored SIGPIPE, a blocked mask).
  reset_signals();

  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null) return Error(errno, "open \"/dev/null\"");
  UniqueFd out_r, err_r, in_w, console_listener, run_dir_fd;
  ContainerStdio stdio;
  auto make_pipe = [](UniqueFd& r, UniqueFd& w) -> Result<> {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return sys_error(errno, "create stdio pipe");
    r.reset(p[0]);
    w.reset(p[1]);
    return {};
  };
  if (spec.terminal) {
    for (int fd = 0; fd <= 2; ++fd)
      if (::dup2(null.get(), fd) < 0) return Error(errno, "set up stdio");
    auto l = listen_console(spec.run_dir, mp::kConsoleSocket);
    if (!l) return l.error();
    console_listener = std::move(*l);
    stdio.console_socket = spec.run_dir + "/" + mp::kConsoleSocket;
    // A runtime connects by path, and a socket path has at most 107 bytes:
    // a longer one (an exec session's, a long --runroot) is named through
    // this process's fd of the run dir, open until the master came.
    if (stdio.console_socket.size() >= sizeof(sockaddr_un::sun_path)) {
      run_dir_fd.reset(::open(spec.run_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!run_dir_fd) return Error(errno, fmt::format("open \"{}\"", spec.run_dir));
      stdio.console_socket = fmt::format("/proc/{}/fd/{}/{}", ::getpid(), run_dir_fd.get(), mp::kConsoleSocket);
    }
  } else {
    UniqueFd out_w, err_w, in_r;
    if (auto r = make_pipe(out_r, out_w); !r) return r.error();
    if (auto r = make_pipe(err_r, err_w); !r) return r.error();
    if (spec.stdin_open)
      if (auto r = make_pipe(in_r, in_w); !r) return r.error();
    if (::dup2(spec.stdin_open ? in_r.get() : null.get(), 0) < 0 || ::dup2(out_w.get(), 1) < 0 ||
        ::dup2(err_w.get(), 2) < 0)
      return Error(errno, "set up stdio");
  }

  auto init = create(stdio);
  std::string socket_path = spec.run_dir + "/" + mp::kConsoleSocket;
  if (!init) {
    if (spec.terminal) ::unlink(socket_path.c_str());
    return init.error();
  }
  if (auto r = sync.send(mp::kSyncCreated, *init); !r) return r.error();

  UniqueFd master;
  if (spec.terminal) {
    auto m = receive_console(console_listener);
    ::unlink(socket_path.c_str());
    run_dir_fd.reset();
    if (!m) return m.error();
    master = std::move(*m);
  }
  // The container's ends leave us: its output then ends when it (and its
  // descendants) close theirs.
  for (int fd = 0; fd <= 2; ++fd)
    if (::dup2(null.get(), fd) < 0) return Error(errno, "set up stdio");

  // Into place: first above every target, then onto 3..6.
  UniqueFd sync_fd(::fcntl(sync.socket().get(), F_DUPFD_CLOEXEC, 10));
  if (!sync_fd) return Error(errno, "dup sync channel");
  sync.close();  // its number may be one of the targets
  UniqueFd& out = spec.terminal ? master : out_r;
  std::pair<UniqueFd*, int> moves[] = {
      {&sync_fd, mp::kSyncFd}, {&out, mp::kOutFd}, {&err_r, mp::kErrFd}, {&in_w, mp::kInFd}};
  for (auto& [fd, target] : moves) {
    if (!*fd) continue;
    UniqueFd high(::fcntl(fd->get(), F_DUPFD_CLOEXEC, 10));
    if (!high) return Error(errno, "dup monitor fd");
    *fd = std::move(high);
  }
  null.reset();
  console_listener.reset();
  for (auto& [fd, target] : moves)
    if (*fd) {
      int raw = fd->get();
      if (::dup2(raw, target) < 0) {
        int err = errno;
        // The sync channel moves first: it is at its target already or still high.
        sync = Channel(sync_fd ? std::move(sync_fd) : UniqueFd(mp::kSyncFd));
        return Error(err, fmt::format("dup fd onto {}", target));
      }
      fd->reset();
    }
  sync = Channel(UniqueFd(mp::kSyncFd));  // an exec failure is reported on it
  // Nothing else of the caller's (a database, a lock file) may stay open for
  // the container's lifetime: closed at exec.
  if (auto r = mark_cloexec_from(mp::kInFd + 1); !r) return r.error();

  std::vector<std::string> args = monitor_argv(spec, *init);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  return Error(errno, fmt::format("exec \"{}\"", spec.monitor_binary));
}

Result<ExitStatus> parse_exit(const std::string& text, const std::string& path) {
  ExitStatus st;
  bool have_code = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line(text.data() + pos, (nl == std::string::npos ? text.size() : nl) - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    if (line.empty()) continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) return error("exit file \"{}\": bad line \"{}\"", path, line);
    std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    int64_t v = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || end != value.data() + value.size())
      return error("exit file \"{}\": bad value in \"{}\"", path, line);
    if (key == "exit_code") {
      st.exit_code = static_cast<int>(v);
      have_code = true;
    } else if (key == "finished_at") {
      st.finished_at = v;
    } else if (key == "oom_killed") {
      st.oom_killed = v != 0;
    }
  }
  if (!have_code) return error("exit file \"{}\": no exit_code", path);
  return st;
}

}  // namespace

Result<MonitorStarted> start_monitor(const MonitorSpec& spec,
                                     const std::function<Result<pid_t>(const ContainerStdio&)>& create) {
  // A new run in the same run dir (a restart): the last one's status must
  // not read as this one's.
  std::string stale = spec.run_dir + "/" + mp::kExitFile;
  if (::unlink(stale.c_str()) < 0 && errno != ENOENT) return sys_error(errno, "remove \"{}\"", stale);
  BERTH_TRY_ASSIGN(channels, Channel::make_pair());
  auto& [ours, theirs] = channels;
  pid_t mid = ::fork();
  if (mid < 0) return sys_error(errno, "fork monitor");
  if (mid == 0) {
    // Forked twice, so the monitor is nobody's child to reap: it is adopted
    // by the nearest subreaper (or init), as conmon is.
    ours.close();
    pid_t pid = ::fork();
    if (pid < 0) theirs.send_error(Error(errno, "fork monitor"));
    if (pid != 0) ::_exit(pid < 0 ? 1 : 0);
    theirs.send_error(monitor_child(spec, create, theirs));
    ::_exit(1);
  }
  theirs.close();
  int status;
  while (::waitpid(mid, &status, 0) < 0 && errno == EINTR) {
  }
  MonitorStarted started;
  BERTH_TRY_ASSIGN(created, with_context(ours.expect(mp::kSyncCreated, "created"), "start monitor"));
  started.container_pid = static_cast<pid_t>(created.value);
  auto ready = ours.expect(mp::kSyncReady, "monitor ready");
  if (!ready)
    return std::unexpected(std::move(ready.error()).context(
        fmt::format("start monitor (container init {} was created)", started.container_pid)));
  started.monitor_pid = static_cast<pid_t>(ready->value);
  return started;
}

Result<std::optional<ExitStatus>> read_exit(const std::string& run_dir) {
  std::string path = run_dir + "/" + mp::kExitFile;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::nullopt;
    return sys_error(errno, "open \"{}\"", path);
  }
  BERTH_TRY_ASSIGN(text, read_fd(fd, path));
  BERTH_TRY_ASSIGN(st, parse_exit(text, path));
  return st;
}

Result<ExitStatus> wait_exit(const std::string& run_dir, int timeout_ms) {
  UniqueFd in(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!in) return sys_error(errno, "inotify_init1");
  if (::inotify_add_watch(in.get(), run_dir.c_str(), IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF) < 0)
    return sys_error(errno, "watch \"{}\"", run_dir);
  struct timespec start;
  ::clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    BERTH_TRY_ASSIGN(st, read_exit(run_dir));
    if (st) return *st;
    int wait = -1;
    if (timeout_ms >= 0) {
      struct timespec now;
      ::clock_gettime(CLOCK_MONOTONIC, &now);
      int64_t elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
      if (elapsed >= timeout_ms) return sys_error(ETIMEDOUT, "wait for the exit of \"{}\"", run_dir);
      wait = static_cast<int>(timeout_ms - elapsed);
    }
    pollfd p{in.get(), POLLIN, 0};
    int r = ::poll(&p, 1, wait);
    if (r < 0 && errno != EINTR) return sys_error(errno, "poll inotify");
    alignas(inotify_event) char buf[4096];
    ssize_t n;
    bool gone = false;
    while ((n = ::read(in.get(), buf, sizeof buf)) > 0)
      for (char* q = buf; q < buf + n; q += sizeof(inotify_event) + reinterpret_cast<inotify_event*>(q)->len)
        if (reinterpret_cast<inotify_event*>(q)->mask & (IN_DELETE_SELF | IN_IGNORED)) gone = true;
    if (gone) {
      BERTH_TRY_ASSIGN(last, read_exit(run_dir));
      if (last) return *last;
      return sys_error(ENOENT, "wait for the exit of \"{}\": the run dir was removed", run_dir);
    }
  }
}

}  // namespace berth::engine
