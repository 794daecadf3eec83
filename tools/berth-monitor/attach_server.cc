#include "attach_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#include "common.h"
#include "engine/monitor_protocol.h"
#include "log_writer.h"

namespace berth::monitor {
namespace {

namespace mp = berth::engine::monitor_protocol;

constexpr int kMaxClients = 32;
struct Client {
  int fd = -1;
  char* pending = nullptr;  // a frame the socket had no room for
  size_t pending_len = 0;
  bool cleans_up = false;   // sent kFrameWillCleanUp (run --rm)
};
Client clients[kMaxClients];
int listen_fd = -1;
bool cleaned_up_by_client = false;  // a client sent kFrameCleanedUp

int out_fd = -1, err_fd = -1, in_fd = -1;  // container side: output, stderr (pipes), stdin
char stdin_pending[mp::kMaxFrameData];     // stdin the container has not taken yet
size_t stdin_pending_len = 0;
bool output_paused = false;

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
    case mp::kFrameWillCleanUp:
      clients[i].cleans_up = true;
      break;
    default:
      break;  // unknown frames are ignored: newer clients may send more
  }
}

// After the exit, only what a cleaning client says still matters.
void read_cleanup_frames(int i) {
  char frame[1 + mp::kMaxFrameData];
  while (clients[i].fd >= 0) {
    ssize_t n = ::recv(clients[i].fd, frame, sizeof frame, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      drop_client(i);
      return;
    }
    if (frame[0] == mp::kFrameWillCleanUp) clients[i].cleans_up = true;
    if (frame[0] == mp::kFrameCleanedUp && clients[i].cleans_up) cleaned_up_by_client = true;
  }
}

// Waits for the clients left (those that clean up themselves) until one
// confirms it did, all hang up, or 30 s pass.
bool wait_cleaned_up() {
  int64_t deadline = monotonic_ms() + 30000;
  while (!cleaned_up_by_client) {
    pollfd p[kMaxClients];
    int index[kMaxClients];
    nfds_t n = 0;
    for (int i = 0; i < kMaxClients; ++i)
      if (clients[i].fd >= 0) {
        p[n] = {clients[i].fd, POLLIN, 0};
        index[n++] = i;
      }
    int64_t left = deadline - monotonic_ms();
    if (n == 0 || left <= 0) break;
    if (::poll(p, n, static_cast<int>(left)) < 0 && errno != EINTR) break;
    for (nfds_t k = 0; k < n; ++k)
      if (p[k].revents) read_cleanup_frames(index[k]);
  }
  for (int i = 0; i < kMaxClients; ++i)
    if (clients[i].fd >= 0) drop_client(i);
  return cleaned_up_by_client;
}

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

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

void setup_stdio() {
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
  epoll_set(EPOLL_CTL_ADD, out_fd, EPOLLIN, kTagOut);
  if (err_fd >= 0) epoll_set(EPOLL_CTL_ADD, err_fd, EPOLLIN, kTagErr);
  if (in_fd >= 0) epoll_set(EPOLL_CTL_ADD, in_fd, 0, kTagIn);
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
  epoll_set(EPOLL_CTL_ADD, listen_fd, EPOLLIN, kTagListen);
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

void output_readable(uint32_t tag) {
  // Paused by an earlier event of this batch: a frame now would pass the pending one.
  if (output_paused) return;
  if (tag == kTagOut && out_fd >= 0) read_stream(&out_fd, false);
  if (tag == kTagErr && err_fd >= 0) read_stream(&err_fd, true);
}

void stdin_event(uint32_t events) {
  if (in_fd >= 0 && (events & (EPOLLERR | EPOLLHUP))) end_stdin();
  if (in_fd >= 0 && stdin_pending_len) stdin_writable();
}

void client_event(uint32_t tag, uint32_t events) {
  if (tag < kTagClient || tag >= kTagClient + kMaxClients) return;
  int i = static_cast<int>(tag - kTagClient);
  if (clients[i].fd < 0) return;
  if ((events & EPOLLOUT) && clients[i].pending_len) flush_pending(i);
  if (clients[i].fd < 0) return;
  if (events & EPOLLIN) {
    client_readable(i);
  } else if (events & (EPOLLHUP | EPOLLERR)) {
    drop_client(i);  // gone; stdin it queued while the container was not reading is lost
    update_output();
  }
}

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

bool close_attach(int exit_code) {
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
    read_cleanup_frames(i);  // a kFrameWillCleanUp still queued (a client accepted just now)
    if (clients[i].fd < 0) continue;
    pollfd p{clients[i].fd, POLLOUT, 0};
    if (::poll(&p, 1, 1000) > 0) ::send(clients[i].fd, frame, sizeof frame, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (!clients[i].cleans_up) drop_client(i);
  }
  return wait_cleaned_up();
}

}  // namespace berth::monitor
