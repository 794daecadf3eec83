// berth-monitor: the small supervisor beside each container (conmon's and
// containerd-shim's role). start_monitor (src/engine/monitor.cc) execs it in
// the process whose child (or adopted orphan) is the container's init:
//
//   berth-monitor --id ID --run-dir DIR --log PATH --log-max-size BYTES
//                 --log-max-files N --pid INIT [--terminal] [--stdin] -- EXIT_COMMAND...
//
// with the fds of engine/monitor_protocol.h. It copies the container's
// output to the CRI log (size-rotated) and to attach clients, forwards their
// stdin and resizes, reaps every child (it is a child subreaper), writes
// <run_dir>/exit when the init exits, and runs the exit command detached.
//
// One stays resident per container, so it is written against the kernel
// directly: no iostream, no exceptions, no engine library, fixed buffers; it
// allocates only for a client that cannot keep up.
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <poll.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#include "engine/logs_line.h"
#include "engine/monitor_protocol.h"

namespace {

namespace mp = berth::engine::monitor_protocol;

// ---- small helpers (no printf: it would drag locale code in)

size_t put_int(char* out, int64_t v) {
  char tmp[24];
  size_t n = 0;
  bool neg = v < 0;
  uint64_t u = neg ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  do {
    tmp[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u);
  size_t len = 0;
  if (neg) out[len++] = '-';
  while (n) out[len++] = tmp[--n];
  return len;
}

bool parse_int(const char* s, int64_t* out) {
  if (!s || !*s) return false;
  char* end;
  errno = 0;
  long long v = std::strtoll(s, &end, 10);
  if (errno || *end) return false;
  *out = v;
  return true;
}

bool write_all(int fd, const char* data, size_t len) {
  while (len) {
    ssize_t n = ::write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

int64_t now_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int64_t monotonic_ms() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// ---- configuration

struct Config {
  const char* id = "";
  const char* run_dir = nullptr;
  const char* log_path = nullptr;
  int64_t log_max_size = 10 << 20;
  int64_t log_max_files = 1;
  int64_t init_pid = 0;
  bool terminal = false;
  bool stdin_open = false;
  char** exit_command = nullptr;  // NULL-terminated, may be empty
};

Config config;
int run_dir_fd = -1;

// ---- sync channel (start_monitor waits on it until we are ready)

void sync_send(uint32_t type, int err, int64_t value, const char* text) {
  mp::SyncHeader h{type, err, value};
  iovec iov[2] = {{&h, sizeof h}, {const_cast<char*>(text), std::strlen(text)}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  while (::sendmsg(mp::kSyncFd, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

[[noreturn]] void fail_setup(int err, const char* what) {
  sync_send(mp::kSyncError, err, 0, what);
  ::_exit(1);
}

// ---- the log: CRI lines, rotated by size

struct Log {
  int fd = -1;
  int64_t size = 0;
  char buf[16384];
  size_t len = 0;
};
Log log_file;
char path_buf[PATH_MAX + 32];
char path_buf2[PATH_MAX + 32];

const char* numbered(char* out, const char* path, int64_t n) {
  size_t len = std::strlen(path);
  if (len > PATH_MAX) len = PATH_MAX;
  std::memcpy(out, path, len);
  if (n > 0) {
    out[len++] = '.';
    len += put_int(out + len, n);
  }
  out[len] = 0;
  return out;
}

void open_log() {
  log_file.fd = ::open(config.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  struct stat st;
  log_file.size = (log_file.fd >= 0 && ::fstat(log_file.fd, &st) == 0) ? st.st_size : 0;
}

// ctr.log -> ctr.log.1 -> ... -> ctr.log.N, the oldest dropped.
void rotate_log() {
  ::close(log_file.fd);
  if (config.log_max_files <= 0) {
    ::unlink(config.log_path);
  } else {
    ::unlink(numbered(path_buf, config.log_path, config.log_max_files));
    for (int64_t i = config.log_max_files - 1; i >= 0; --i)
      ::rename(numbered(path_buf, config.log_path, i), numbered(path_buf2, config.log_path, i + 1));
  }
  open_log();
}

void flush_log() {
  if (log_file.len == 0) return;
  if (log_file.fd < 0) open_log();  // a failed open (ENOSPC, a racing rm) is retried later
  if (log_file.fd >= 0 && write_all(log_file.fd, log_file.buf, log_file.len))
    log_file.size += static_cast<int64_t>(log_file.len);
  log_file.len = 0;
}

// Appends one entry. Rotation happens between entries, before the one that
// would take the file over the limit (an entry is at most one read long).
void log_entry(int64_t ts, bool is_stderr, bool partial, const char* text, size_t len) {
  size_t entry = berth::engine::kLogPrefixMax + len + 1;
  int64_t projected = log_file.size + static_cast<int64_t>(log_file.len);
  if (config.log_max_size > 0 && projected > 0 && projected + static_cast<int64_t>(entry) > config.log_max_size) {
    flush_log();
    rotate_log();
  }
  if (log_file.len + entry > sizeof log_file.buf) flush_log();
  log_file.len += berth::engine::format_log_prefix(ts, is_stderr, partial, log_file.buf + log_file.len);
  std::memcpy(log_file.buf + log_file.len, text, len);
  log_file.len += len;
  log_file.buf[log_file.len++] = '\n';
}

// One read's worth of output: a full entry per line, a partial one for an
// unterminated rest (the next read continues it, as conmon writes them).
void log_output(bool is_stderr, const char* data, size_t len) {
  int64_t ts = now_ns();
  while (len) {
    const char* nl = static_cast<const char*>(std::memchr(data, '\n', len));
    size_t line = nl ? static_cast<size_t>(nl - data) : len;
    log_entry(ts, is_stderr, nl == nullptr, data, line);
    size_t used = nl ? line + 1 : line;
    data += used;
    len -= used;
  }
  flush_log();
}

// ---- attach clients

constexpr int kMaxClients = 32;
struct Client {
  int fd = -1;
  char* pending = nullptr;  // a frame the socket had no room for
  size_t pending_len = 0;
};
Client clients[kMaxClients];
int listen_fd = -1;
int epoll_fd = -1;

// epoll tags
constexpr uint32_t kTagListen = 1, kTagSignal = 2, kTagOut = 3, kTagErr = 4, kTagIn = 5, kTagPidfd = 6,
                   kTagClient = 100;

int out_fd = -1, err_fd = -1, in_fd = -1;  // container side: output, stderr (pipes), stdin
char stdin_pending[mp::kMaxFrameData];     // stdin the container has not taken yet
size_t stdin_pending_len = 0;
bool output_paused = false;

void epoll_set(int op, int fd, uint32_t events, uint32_t tag) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u32 = tag;
  ::epoll_ctl(epoll_fd, op, fd, &ev);
}

bool any_pending() {
  for (auto& c : clients)
    if (c.fd >= 0 && c.pending_len) return true;
  return false;
}

void update_client(int i) {
  Client& c = clients[i];
  uint32_t ev = (stdin_pending_len ? 0u : uint32_t{EPOLLIN}) | (c.pending_len ? uint32_t{EPOLLOUT} : 0u);
  epoll_set(EPOLL_CTL_MOD, c.fd, ev, kTagClient + static_cast<uint32_t>(i));
}

// A client that cannot keep up holds the container's output back (as docker
// attach does) instead of growing a queue in the monitor. Paused streams
// leave the epoll set: a hung-up pipe would report itself even with no events asked.
void update_output() {
  bool pause = any_pending();
  if (pause == output_paused) return;
  output_paused = pause;
  int op = pause ? EPOLL_CTL_DEL : EPOLL_CTL_ADD;
  if (out_fd >= 0) epoll_set(op, out_fd, EPOLLIN, kTagOut);
  if (err_fd >= 0) epoll_set(op, err_fd, EPOLLIN, kTagErr);
}

void drop_client(int i) {
  Client& c = clients[i];
  ::close(c.fd);  // also leaves the epoll set
  std::free(c.pending);
  c = Client{};
}

// Sends a frame, keeping it as pending when the client's socket is full.
void send_frame(int i, const char* frame, size_t len) {
  Client& c = clients[i];
  if (c.pending_len) return;  // paused output never reaches here with a pending client
  ssize_t n;
  do {
    n = ::send(c.fd, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) return;
  if (errno != EAGAIN && errno != EWOULDBLOCK) {
    drop_client(i);
    return;
  }
  c.pending = static_cast<char*>(std::malloc(len));
  if (!c.pending) {
    drop_client(i);
    return;
  }
  std::memcpy(c.pending, frame, len);
  c.pending_len = len;
  update_client(i);
}

void broadcast(const char* frame, size_t len) {
  for (int i = 0; i < kMaxClients; ++i)
    if (clients[i].fd >= 0) send_frame(i, frame, len);
  update_output();
}

void flush_pending(int i) {
  Client& c = clients[i];
  ssize_t n;
  do {
    n = ::send(c.fd, c.pending, c.pending_len, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  if (n < 0) {
    drop_client(i);
  } else {
    std::free(c.pending);
    c.pending = nullptr;
    c.pending_len = 0;
    update_client(i);
  }
  update_output();
}

void accept_clients() {
  for (;;) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EINTR) continue;
      return;
    }
    int i = 0;
    while (i < kMaxClients && clients[i].fd >= 0) ++i;
    if (i == kMaxClients) {
      ::close(fd);
      continue;
    }
    clients[i].fd = fd;
    epoll_set(EPOLL_CTL_ADD, fd, stdin_pending_len ? 0u : uint32_t{EPOLLIN}, kTagClient + static_cast<uint32_t>(i));
  }
}

void update_all_clients() {
  for (int i = 0; i < kMaxClients; ++i)
    if (clients[i].fd >= 0) update_client(i);
}

// The container's stdin ends: a client closed it, or the container closed its
// end (a pipe reports an error, a pty whose every slave fd is gone a hang-up).
void end_stdin() {
  if (in_fd < 0) return;
  ::close(in_fd);
  in_fd = -1;
  if (stdin_pending_len) {
    stdin_pending_len = 0;
    update_all_clients();
  }
}

// A client's close: a pipe closes (the container reads EOF); a pty's input
// stays, as with docker (the terminal is the container's, not the client's).
void close_stdin() {
  if (!config.terminal) end_stdin();
}

// Writes what the container takes now; the rest waits (clients are not read meanwhile).
void write_stdin(const char* data, size_t len) {
  if (in_fd < 0) return;
  while (len) {
    ssize_t n = ::write(in_fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      std::memcpy(stdin_pending, data, len);
      stdin_pending_len = len;
      epoll_set(EPOLL_CTL_MOD, in_fd, EPOLLOUT, kTagIn);
      update_all_clients();
      return;
    }
    if (n < 0) {  // the container closed its stdin
      end_stdin();
      return;
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
}

void stdin_writable() {
  char tmp[mp::kMaxFrameData];
  size_t len = stdin_pending_len;
  std::memcpy(tmp, stdin_pending, len);
  stdin_pending_len = 0;
  epoll_set(EPOLL_CTL_MOD, in_fd, 0, kTagIn);
  write_stdin(tmp, len);
  if (stdin_pending_len == 0) update_all_clients();
}

void client_readable(int i) {
  char frame[1 + mp::kMaxFrameData];
  ssize_t n;
  do {
    n = ::recv(clients[i].fd, frame, sizeof frame, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  if (n <= 0) {
    drop_client(i);
    update_output();
    return;
  }
  switch (frame[0]) {
    case mp::kFrameStdin:
      if (config.stdin_open) write_stdin(frame + 1, static_cast<size_t>(n) - 1);
      break;
    case mp::kFrameCloseStdin:
      if (config.stdin_open) close_stdin();
      break;
    case mp::kFrameResize:
      if (config.terminal && n >= 5 && out_fd >= 0) {
        uint16_t rc[2];
        std::memcpy(rc, frame + 1, sizeof rc);
        winsize ws{};
        ws.ws_row = rc[0];
        ws.ws_col = rc[1];
        ::ioctl(out_fd, TIOCSWINSZ, &ws);
      }
      break;
    default:
      break;  // unknown frames are ignored: newer clients may send more
  }
}

// ---- container output

char read_buf[1 + mp::kMaxFrameData];

// Reads once from a stream; false at its end (EOF, or EIO from a pty whose slave is gone).
bool read_stream(int* fd, bool is_stderr) {
  ssize_t n;
  do {
    n = ::read(*fd, read_buf + 1, mp::kMaxFrameData);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
  if (n <= 0) {
    ::close(*fd);
    *fd = -1;
    return false;
  }
  log_output(is_stderr, read_buf + 1, static_cast<size_t>(n));
  read_buf[0] = is_stderr ? mp::kFrameStderr : mp::kFrameStdout;
  broadcast(read_buf, static_cast<size_t>(n) + 1);
  return true;
}

// Waits until a client took its pending frame, dropping it at the deadline.
void wait_flushed(int i, int64_t deadline) {
  while (clients[i].fd >= 0 && clients[i].pending_len) {
    int64_t left = deadline - monotonic_ms();
    pollfd p{clients[i].fd, POLLOUT, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) {
      drop_client(i);
      return;
    }
    flush_pending(i);
  }
}

// After the init's exit: what is still buffered goes to the log and to
// clients, each client waited for a bounded time.
void drain_output() {
  accept_clients();
  int64_t deadline = monotonic_ms() + 5000;
  for (int* fd : {&out_fd, &err_fd}) {
    bool is_stderr = fd == &err_fd;
    for (;;) {
      // Every client takes what it has pending (output paused at the exit, too) before the next read.
      for (int i = 0; i < kMaxClients; ++i) wait_flushed(i, deadline);
      if (*fd < 0 || !read_stream(fd, is_stderr)) break;
    }
  }
}

// ---- exit

bool init_exited = false;
int exit_code = 0;
char oom_file[PATH_MAX];  // the init's memory cgroup's oom counter file, "" if unknown

// The memory cgroup, read while the init lives: its oom_kill counter tells
// after the exit whether the kernel's OOM killer struck (docker's OOMKilled).
void find_oom_file() {
  oom_file[0] = 0;
  char path[64] = "/proc/";
  size_t len = 6 + put_int(path + 6, config.init_pid);
  std::memcpy(path + len, "/cgroup", 8);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return;
  buf[n] = 0;
  const char* v1 = nullptr;
  const char* v2 = nullptr;
  for (char* line = buf; line && *line;) {
    char* next = std::strchr(line, '\n');
    if (next) *next++ = 0;
    char* c1 = std::strchr(line, ':');
    char* c2 = c1 ? std::strchr(c1 + 1, ':') : nullptr;
    if (c2) {
      *c1 = 0;
      *c2 = 0;
      const char* controllers = c1 + 1;
      if (std::strcmp(line, "0") == 0 && *controllers == 0) v2 = c2 + 1;
      for (const char* p = controllers; p && *p;) {
        const char* comma = std::strchr(p, ',');
        size_t l = comma ? static_cast<size_t>(comma - p) : std::strlen(p);
        if (l == 6 && std::memcmp(p, "memory", 6) == 0) v1 = c2 + 1;
        p = comma ? comma + 1 : nullptr;
      }
    }
    line = next;
  }
  const char* base;
  const char* rel;
  const char* file;
  if (v1) {
    base = "/sys/fs/cgroup/memory";
    rel = v1;
    file = "/memory.oom_control";
  } else if (v2) {
    base = "/sys/fs/cgroup";
    rel = v2;
    file = "/memory.events";
  } else {
    return;
  }
  if (std::strlen(base) + std::strlen(rel) + std::strlen(file) >= sizeof oom_file) return;
  std::strcpy(oom_file, base);
  std::strcat(oom_file, std::strcmp(rel, "/") == 0 ? "" : rel);
  std::strcat(oom_file, file);
}

bool oom_killed() {
  if (!oom_file[0]) return false;
  int fd = ::open(oom_file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return false;
  buf[n] = 0;
  const char* p = std::strstr(buf, "oom_kill ");
  return p && std::strtoll(p + 9, nullptr, 10) > 0;
}

void record_status(int status) {
  init_exited = true;
  exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 255;
}

void reap_children() {
  for (;;) {
    int status;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    if (pid == config.init_pid) record_status(status);
  }
}

void write_run_file(const char* name, const char* data, size_t len) {
  char tmp[64];
  size_t l = std::strlen(name);
  std::memcpy(tmp, name, l);
  std::memcpy(tmp + l, ".tmp", 5);
  int fd = ::openat(run_dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  bool ok = write_all(fd, data, len);
  ::close(fd);
  if (ok) ::renameat(run_dir_fd, tmp, run_dir_fd, name);
}

void write_exit_file() {
  char buf[128];
  size_t len = 0;
  auto add = [&](const char* key, int64_t v) {
    size_t kl = std::strlen(key);
    std::memcpy(buf + len, key, kl);
    len += kl;
    len += put_int(buf + len, v);
    buf[len++] = '\n';
  };
  add("exit_code=", exit_code);
  add("finished_at=", now_ns());
  add("oom_killed=", oom_killed() ? 1 : 0);
  write_run_file(mp::kExitFile, buf, len);
}

void reset_signals() {
  sigset_t all;
  sigemptyset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
}

// Detached (double fork, own session, stdio /dev/null), so that it may stop
// or remove this container, and start a new monitor for a restart.
void run_exit_command() {
  if (!config.exit_command || !config.exit_command[0]) return;
  pid_t mid = ::fork();
  if (mid < 0) return;
  if (mid == 0) {
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    int null = ::open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3; ++fd) ::dup2(null, fd);
    ::syscall(SYS_close_range, 3U, ~0U, 0U);
    ::chdir("/");
    reset_signals();
    ::execv(config.exit_command[0], config.exit_command);
    ::_exit(127);
  }
  while (::waitpid(mid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

// ---- set-up

void parse_args(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    bool ok = true;
    if (std::strcmp(a, "--") == 0) {
      config.exit_command = argv + i + 1;
      break;
    } else if (std::strcmp(a, "--terminal") == 0) {
      config.terminal = true;
      continue;
    } else if (std::strcmp(a, "--stdin") == 0) {
      config.stdin_open = true;
      continue;
    } else if (!v) {
      ok = false;
    } else if (std::strcmp(a, "--id") == 0) {
      config.id = v;
    } else if (std::strcmp(a, "--run-dir") == 0) {
      config.run_dir = v;
    } else if (std::strcmp(a, "--log") == 0) {
      config.log_path = v;
    } else if (std::strcmp(a, "--log-max-size") == 0) {
      ok = parse_int(v, &config.log_max_size);
    } else if (std::strcmp(a, "--log-max-files") == 0) {
      ok = parse_int(v, &config.log_max_files) && config.log_max_files >= 0;
    } else if (std::strcmp(a, "--pid") == 0) {
      ok = parse_int(v, &config.init_pid) && config.init_pid > 0;
    } else {
      ok = false;
    }
    if (!ok) fail_setup(EINVAL, "berth-monitor: bad arguments (it is started by berth, not by hand)");
    ++i;
  }
  if (!config.run_dir || !config.log_path || config.init_pid <= 0)
    fail_setup(EINVAL, "berth-monitor: --run-dir, --log and --pid are required");
}

void listen_attach() {
  listen_fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd < 0) fail_setup(errno, "berth-monitor: create attach socket");
  // Bound relative to the run dir: its full path may exceed sun_path.
  if (::fchdir(run_dir_fd) < 0) fail_setup(errno, "berth-monitor: enter the run dir");
  ::unlink(mp::kAttachSocket);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, mp::kAttachSocket);
  if (::bind(listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    fail_setup(errno, "berth-monitor: bind attach.sock");
  ::chmod(mp::kAttachSocket, 0600);
  if (::listen(listen_fd, 16) < 0) fail_setup(errno, "berth-monitor: listen on attach.sock");
  ::chdir("/");
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

int main(int argc, char** argv) {
  parse_args(argc, argv);
  ::signal(SIGHUP, SIG_IGN);
  ::signal(SIGPIPE, SIG_IGN);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);  // start_monitor set it too; exec keeps it, this is cheap insurance

  run_dir_fd = ::open(config.run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (run_dir_fd < 0) fail_setup(errno, "berth-monitor: open the run dir");

  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &chld, nullptr);
  int sig_fd = ::signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (sig_fd < 0 || epoll_fd < 0) fail_setup(errno, "berth-monitor: create signalfd/epoll");

  out_fd = mp::kOutFd;
  if (config.terminal) {
    if (config.stdin_open) in_fd = ::dup(out_fd);  // the same pty, its own epoll registration
  } else {
    err_fd = mp::kErrFd;
    if (config.stdin_open) in_fd = mp::kInFd;
  }
  for (int fd : {out_fd, err_fd, in_fd})
    if (fd >= 0) {
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);
      set_nonblocking(fd);
    }
  epoll_set(EPOLL_CTL_ADD, sig_fd, EPOLLIN, kTagSignal);
  epoll_set(EPOLL_CTL_ADD, out_fd, EPOLLIN, kTagOut);
  if (err_fd >= 0) epoll_set(EPOLL_CTL_ADD, err_fd, EPOLLIN, kTagErr);
  if (in_fd >= 0) epoll_set(EPOLL_CTL_ADD, in_fd, 0, kTagIn);

  // The init is our child or an adopted orphan; if neither (a handler that
  // parented it elsewhere), a pidfd still tells when it exits.
  int pid_fd = -1;
  siginfo_t probe{};
  if (::waitid(P_PID, static_cast<id_t>(config.init_pid), &probe, WEXITED | WNOHANG | WNOWAIT) < 0 &&
      errno == ECHILD) {
    pid_fd = static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(config.init_pid), 0));
    if (pid_fd < 0) fail_setup(errno, "berth-monitor: the container's init is gone");
    epoll_set(EPOLL_CTL_ADD, pid_fd, EPOLLIN, kTagPidfd);
  }
  find_oom_file();

  listen_attach();
  epoll_set(EPOLL_CTL_ADD, listen_fd, EPOLLIN, kTagListen);
  open_log();
  char pid_text[24];
  size_t pid_len = put_int(pid_text, ::getpid());
  pid_text[pid_len++] = '\n';
  write_run_file(mp::kPidFile, pid_text, pid_len);

  sync_send(mp::kSyncReady, 0, ::getpid(), "");
  ::close(mp::kSyncFd);

  reap_children();  // an init that exited before the signalfd existed
  while (!init_exited) {
    epoll_event evs[8];
    int n = ::epoll_wait(epoll_fd, evs, 8, -1);
    if (n < 0 && errno != EINTR) break;
    // New clients first: one that connected before this output was written
    // must see it (a `berth run` attaches before it starts the container).
    for (int k = 0; k < n; ++k)
      if (evs[k].data.u32 == kTagListen) accept_clients();
    for (int k = 0; k < n; ++k) {
      uint32_t tag = evs[k].data.u32;
      if (tag == kTagSignal) {
        signalfd_siginfo si;
        while (::read(sig_fd, &si, sizeof si) > 0) {
        }
        reap_children();
      } else if (tag == kTagPidfd) {
        init_exited = true;
        exit_code = 255;  // not our child: its status is not ours to read
        ::close(pid_fd);
      } else if (tag == kTagOut || tag == kTagErr) {
        // Paused by an earlier event of this batch: a frame now would pass the pending one.
        if (output_paused) continue;
        if (tag == kTagOut && out_fd >= 0) read_stream(&out_fd, false);
        if (tag == kTagErr && err_fd >= 0) read_stream(&err_fd, true);
      } else if (tag == kTagIn) {
        if (in_fd >= 0 && (evs[k].events & (EPOLLERR | EPOLLHUP))) end_stdin();
        if (in_fd >= 0 && stdin_pending_len) stdin_writable();
      } else if (tag >= kTagClient && tag < kTagClient + kMaxClients) {
        int i = static_cast<int>(tag - kTagClient);
        if (clients[i].fd < 0) continue;
        if ((evs[k].events & EPOLLOUT) && clients[i].pending_len) flush_pending(i);
        if (clients[i].fd < 0) continue;
        if (evs[k].events & EPOLLIN) {
          client_readable(i);
        } else if (evs[k].events & (EPOLLHUP | EPOLLERR)) {
          drop_client(i);  // gone; stdin it queued while the container was not reading is lost
          update_output();
        }
      }
    }
  }

  drain_output();
  flush_log();
  write_exit_file();
  // Clients, including any still in the listen queue, get the status; then
  // the socket goes so that nobody attaches to a container that is gone.
  accept_clients();
  ::close(listen_fd);
  ::unlinkat(run_dir_fd, mp::kAttachSocket, 0);
  char frame[5];
  frame[0] = mp::kFrameExit;
  int32_t code = exit_code;
  std::memcpy(frame + 1, &code, sizeof code);
  int64_t deadline = monotonic_ms() + 1000;
  for (int i = 0; i < kMaxClients; ++i) {
    wait_flushed(i, deadline);
    if (clients[i].fd < 0) continue;
    pollfd p{clients[i].fd, POLLOUT, 0};
    if (::poll(&p, 1, 1000) > 0) ::send(clients[i].fd, frame, sizeof frame, MSG_DONTWAIT | MSG_NOSIGNAL);
    drop_client(i);
  }
  reap_children();
  run_exit_command();
  return 0;
}
