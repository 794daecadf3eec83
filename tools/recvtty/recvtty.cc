// recvtty: receives a container's pty master over --console-socket, as
// runc's contrib/cmd/recvtty does, for the integration tests.
//
//   recvtty [--mode single|null] [--no-stdin] [--pid-file PATH] SOCKET
//
// Listens on SOCKET, accepts one connection and receives the master. "single"
// copies the master to stdout and stdin to the master; "null" reads and
// discards. Exits 0 when the container side hangs up (EOF or EIO on the master).
// The pid file is written once the socket listens, so a test can wait for it.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/fd.h"
#include "base/file.h"
#include "runtime/console.h"

namespace {

using berth::Result;
using berth::UniqueFd;

constexpr std::string_view kUsage =
    "usage: recvtty [--mode single|null] [--no-stdin] [--pid-file PATH] SOCKET\n";

struct Options {
  std::string mode = "single";
  bool no_stdin = false;
  std::string pid_file;
  std::string socket;
};

Result<Options> parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](std::string_view flag) -> Result<std::string> {
      if (i + 1 >= argc) return berth::error("{}: needs a value", flag);
      return std::string(argv[++i]);
    };
    if (a == "--mode" || a == "-m") {
      BERTH_TRY_ASSIGN(v, value(a));
      o.mode = v;
    } else if (a.starts_with("--mode=")) {
      o.mode = a.substr(7);
    } else if (a == "--pid-file") {
      BERTH_TRY_ASSIGN(v, value(a));
      o.pid_file = v;
    } else if (a.starts_with("--pid-file=")) {
      o.pid_file = a.substr(11);
    } else if (a == "--no-stdin") {
      o.no_stdin = true;
    } else if (a.starts_with("-")) {
      return berth::error("unknown flag {}", a);
    } else if (o.socket.empty()) {
      o.socket = a;
    } else {
      return berth::error("need a single socket path");
    }
  }
  if (o.socket.empty()) return berth::error("need a socket path");
  if (o.mode != "single" && o.mode != "null") return berth::error("--mode: must be single or null, got \"{}\"", o.mode);
  return o;
}

Result<UniqueFd> listen_on(const std::string& path) {
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return berth::sys_error(errno, "create socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return berth::error("socket path \"{}\" is too long", path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    return berth::sys_error(errno, "bind \"{}\"", path);
  if (::listen(s.get(), 1) < 0) return berth::sys_error(errno, "listen on \"{}\"", path);
  return s;
}

// Copies until the master hangs up. Reading the master returns EIO once
// every slave fd is closed: that is the normal end, not an error.
Result<> pump(const UniqueFd& master, bool to_stdout, bool from_stdin) {
  char buf[8192];
  bool stdin_open = from_stdin;
  for (;;) {
    pollfd fds[2] = {{master.get(), POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    int n = ::poll(fds, stdin_open ? 2 : 1, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return berth::sys_error(errno, "poll");
    if (fds[0].revents) {
      ssize_t r = ::read(master.get(), buf, sizeof buf);
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (r < 0 && errno == EIO) return {};
      if (r < 0) return berth::sys_error(errno, "read pty master");
      if (r == 0) return {};
      if (to_stdout) BERTH_TRY(berth::write_all(STDOUT_FILENO, {buf, static_cast<size_t>(r)}, "stdout"));
    }
    if (stdin_open && fds[1].revents) {
      ssize_t r = ::read(STDIN_FILENO, buf, sizeof buf);
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (r <= 0) {
        stdin_open = false;  // as runc's recvtty: stop copying, keep the pty
        continue;
      }
      BERTH_TRY(berth::write_all(master.get(), {buf, static_cast<size_t>(r)}, "pty master"));
    }
  }
}

Result<> run(const Options& o) {
  BERTH_TRY_ASSIGN(listener, listen_on(o.socket));
  if (!o.pid_file.empty())
    BERTH_TRY(berth::write_file_atomic(o.pid_file, std::to_string(::getpid()) + "\n"));
  UniqueFd conn;
  for (;;) {
    conn.reset(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (conn || errno != EINTR) break;
  }
  if (!conn) return berth::sys_error(errno, "accept on \"{}\"", o.socket);
  listener.reset();
  ::unlink(o.socket.c_str());  // one terminal per recvtty: let another instance take the path
  BERTH_TRY_ASSIGN(master, berth::runtime::recv_fd(conn));
  conn.reset();
  bool single = o.mode == "single";
  return pump(master, single, single && !o.no_stdin);
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  auto opts = parse(argc, argv);
  if (!opts) {
    std::fprintf(stderr, "recvtty: %s\n%s", opts.error().what().c_str(), kUsage.data());
    return 2;
  }
  auto r = run(*opts);
  if (!r) {
    std::fprintf(stderr, "recvtty: %s\n", r.error().what().c_str());
    return 1;
  }
  return 0;
}
