#include "engine/container_exec.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>

#include "base/fd.h"
#include "engine/flags.h"
#include "engine/spec_builder.h"
#include "runtime/console.h"
#include "runtime/exec.h"
#include "runtime/process_attrs.h"

namespace berth::engine {
namespace {

bool has_key(const std::vector<std::string>& env, std::string_view key) {
  for (const auto& e : env)
    if (e.size() > key.size() && e.starts_with(key) && e[key.size()] == '=') return true;
  return false;
}

std::vector<std::string> every_capability() {
  std::vector<std::string> caps;
  int last = runtime::last_capability();
  for (const auto& name : runtime::all_capability_names()) {
    auto n = runtime::capability_from_name(name);
    if (n && *n <= last) caps.push_back(name);
  }
  return caps;
}

// Puts fd `target` (0, 1 or 2) on another file for the scope, then back.
class FdSwap {
 public:
  static Result<FdSwap> to(int target, const UniqueFd& file) {
    UniqueFd saved(::fcntl(target, F_DUPFD_CLOEXEC, 3));
    if (!saved && errno != EBADF) return sys_error(errno, "save fd {}", target);
    if (::dup2(file.get(), target) < 0) return sys_error(errno, "redirect fd {}", target);
    return FdSwap(target, std::move(saved));
  }
  FdSwap(FdSwap&& o) noexcept : target_(std::exchange(o.target_, -1)), saved_(std::move(o.saved_)) {}
  ~FdSwap() {
    if (target_ < 0) return;
    if (saved_) ::dup2(saved_.get(), target_);
    else ::close(target_);
  }

 private:
  FdSwap(int target, UniqueFd saved) : target_(target), saved_(std::move(saved)) {}
  int target_;
  UniqueFd saved_;
};

// Our terminal in raw mode for the scope (docker's -t: keys go to the
// container's terminal unchanged).
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (::isatty(fd) && ::tcgetattr(fd, &saved_) == 0) {
      termios raw = saved_;
      ::cfmakeraw(&raw);
      active_ = ::tcsetattr(fd, TCSADRAIN, &raw) == 0;
    }
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(fd_, TCSADRAIN, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

std::optional<oci::ConsoleSize> terminal_size(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0) return std::nullopt;
  return oci::ConsoleSize{ws.ws_row, ws.ws_col};
}

// A listening console socket at <dir>/exec-<pid>.sock, removed when dropped.
// Bound through /proc/self/fd/<dir> so a long run_dir fits sun_path.
class ConsoleListener {
 public:
  static Result<ConsoleListener> open(const std::string& dir) {
    ConsoleListener l;
    l.path_ = fmt::format("{}/exec-{}.sock", dir, ::getpid());
    UniqueFd dirfd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dirfd) return sys_error(errno, "open \"{}\"", dir);
    l.sock_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!l.sock_) return sys_error(errno, "create a console socket");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    auto name = fmt::format("/proc/self/fd/{}/exec-{}.sock", dirfd.get(), ::getpid());
    std::memcpy(addr.sun_path, name.c_str(), name.size() + 1);
    ::unlink(l.path_.c_str());
    if (::bind(l.sock_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
      return sys_error(errno, "bind the console socket \"{}\"", l.path_);
    l.bound_ = true;
    if (::listen(l.sock_.get(), 1) < 0) return sys_error(errno, "listen on \"{}\"", l.path_);
    return l;
  }
  ConsoleListener(ConsoleListener&& o) noexcept
      : path_(std::move(o.path_)), sock_(std::move(o.sock_)), bound_(std::exchange(o.bound_, false)) {}
  ~ConsoleListener() {
    if (bound_) ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }
  const UniqueFd& sock() const { return sock_; }

 private:
  ConsoleListener() = default;
  std::string path_;
  UniqueFd sock_;
  bool bound_ = false;
};

// Copies what is readable from `from` to `to`; false at EOF or an error.
bool pump(int from, int to) {
  char buf[8192];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;
  for (ssize_t off = 0; off < n;) {
    ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += w;
  }
  return true;
}

// The terminal side of exec -t, on its own thread while the handler runs the
// process: accepts the runtime's connection, takes the pty master, relays
// our stdin (with -i) to it and its output to our stdout, and passes on
// resizes (SIGWINCH through a signalfd) until the master hangs up or `stop`
// is readable (the process exited: what is left in the master is drained).
void relay_terminal(const UniqueFd& listener, bool interactive, int sigfd, int stop, Result<>& outcome) {
  pollfd accept_fds[] = {{listener.get(), POLLIN, 0}, {stop, POLLIN, 0}};
  while (::poll(accept_fds, 2, -1) < 0) {
    if (errno != EINTR) {
      outcome = sys_error(errno, "poll the console socket");
      return;
    }
  }
  if (!(accept_fds[0].revents & POLLIN)) return;  // the exec failed before a terminal came
  UniqueFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) {
    outcome = sys_error(errno, "accept on the console socket");
    return;
  }
  auto master = runtime::recv_fd(conn);
  if (!master) {
    outcome = std::unexpected(std::move(master).error());
    return;
  }
  if (auto size = terminal_size(0)) (void)runtime::resize_pty(*master, *size);

  bool stdin_open = interactive;
  bool stopping = false;
  for (;;) {
    pollfd fds[4] = {{master->get(), POLLIN, 0},
                     {stdin_open ? 0 : -1, POLLIN, 0},
                     {sigfd, POLLIN, 0},
                     {stopping ? -1 : stop, POLLIN, 0}};
    int r = ::poll(fds, 4, stopping ? 100 : -1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;  // stopping and nothing more came
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!pump(master->get(), 1)) break;
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!pump(0, master->get())) stdin_open = false;
    }
    if (fds[2].revents & POLLIN) {
      signalfd_siginfo info;
      if (::read(sigfd, &info, sizeof info) > 0)
        if (auto size = terminal_size(0)) (void)runtime::resize_pty(*master, *size);
    }
    if (fds[3].revents & POLLIN) stopping = true;
  }
}

// Blocks SIGWINCH for the scope (the relay reads it from a signalfd).
class BlockedSignal {
 public:
  explicit BlockedSignal(int sig) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    pthread_sigmask(SIG_BLOCK, &set, &old_);
  }
  ~BlockedSignal() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  BlockedSignal(const BlockedSignal&) = delete;
  BlockedSignal& operator=(const BlockedSignal&) = delete;

 private:
  sigset_t old_;
};

Result<int> exec_with_terminal(RuntimeHandler& handler, HandlerExec exec, const std::string& run_dir,
                               bool interactive) {
  BERTH_TRY_ASSIGN(listener, ConsoleListener::open(run_dir));
  exec.console_socket = listener.path();
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return sys_error(errno, "pipe");
  UniqueFd stop_rd(p[0]), stop_wr(p[1]);

  BlockedSignal blocked(SIGWINCH);
  sigset_t winch;
  sigemptyset(&winch);
  sigaddset(&winch, SIGWINCH);
  UniqueFd sigfd(::signalfd(-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigfd) return sys_error(errno, "signalfd");

  RawTerminal raw(0);
  Result<> relayed;
  std::thread relay(
      [&] { relay_terminal(listener.sock(), interactive, sigfd.get(), stop_rd.get(), relayed); });
  Result<int> status = handler.exec(exec);
  stop_wr.reset();  // the process is gone (or never came): drain and finish
  relay.join();
  if (!status) return status;
  if (!relayed) return std::unexpected(std::move(relayed).error());
  return status;
}

}  // namespace

Result<oci::Process> exec_process(const oci::Process& container, const ExecRequest& request,
                                  const std::string& rootfs) {
  if (request.command.empty()) return error("exec: a command is required");
  oci::Process p = container;
  p.args = request.command;
  p.terminal = request.tty;
  p.console_size.reset();

  std::vector<std::string> env = container.env;
  for (const auto& file : request.env_files) {
    BERTH_TRY_ASSIGN(lines, with_context(read_env_file(file), "--env-file"));
    env.insert(env.end(), lines.begin(), lines.end());
  }
  for (auto& e : resolve_env_flags(request.env)) env.push_back(std::move(e));
  if (request.tty && !has_key(env, "TERM")) env.emplace_back("TERM=xterm");
  p.env = runtime::merge_env(env);

  if (!request.user.empty()) {
    BERTH_TRY_ASSIGN(user, with_context(resolve_user(rootfs, request.user), fmt::format("-u {}", request.user)));
    p.user.uid = user.uid;
    p.user.gid = user.gid;
    p.user.additional_gids = user.additional_gids;
    // HOME follows the user, as docker's exec sets it (unless -e gave one).
    bool home_from_flags = false;
    for (const auto& e : request.env)
      if (e.starts_with("HOME=")) home_from_flags = true;
    if (!home_from_flags) {
      std::erase_if(p.env, [](const std::string& e) { return e.starts_with("HOME="); });
      p.env.push_back("HOME=" + user.home);
    }
  }
  if (!request.workdir.empty()) {
    if (!request.workdir.starts_with('/')) return error("-w \"{}\": the directory must be absolute", request.workdir);
    p.cwd = request.workdir;
  }
  if (request.privileged) {
    auto all = every_capability();
    p.capabilities = oci::Capabilities{all, all, {}, all, {}};
  }
  return p;
}

Result<int> exec_in_container(RuntimeHandler& handler, const std::string& id, const std::string& run_dir,
                              oci::Process process, const ExecRequest& request) {
  if (request.detach && request.tty)
    return error("exec -d with -t: nothing would hold the terminal of a detached process (use -d without -t)");
  if (request.tty) process.console_size = terminal_size(0);
  HandlerExec exec{id, std::move(process), request.detach, "", ""};

  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null) return sys_error(errno, "open /dev/null");
  std::vector<FdSwap> swaps;
  if (request.detach) {
    for (int fd : {0, 1, 2}) {
      BERTH_TRY_ASSIGN(swap, FdSwap::to(fd, null));
      swaps.push_back(std::move(swap));
    }
  } else if (!request.interactive && !request.tty) {
    BERTH_TRY_ASSIGN(swap, FdSwap::to(0, null));
    swaps.push_back(std::move(swap));
  }
  if (request.tty) return exec_with_terminal(handler, std::move(exec), run_dir, request.interactive);
  return handler.exec(exec);
}

}  // namespace berth::engine
