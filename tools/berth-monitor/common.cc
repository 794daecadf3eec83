#include "common.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "engine/monitor_protocol.h"

namespace berth::monitor {

namespace mp = berth::engine::monitor_protocol;

Config config;
int run_dir_fd = -1;
int epoll_fd = -1;

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

void epoll_set(int op, int fd, uint32_t events, uint32_t tag) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u32 = tag;
  ::epoll_ctl(epoll_fd, op, fd, &ev);
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

void sync_send(uint32_t type, int err, int64_t value, const char* text) {
  mp::SyncHeader h{type, err, value};
  iovec iov[2] = {{&h, sizeof h}, {const_cast<char*>(text), std::strlen(text)}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  while (::sendmsg(mp::kSyncFd, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

void fail_setup(int err, const char* what) {
  sync_send(mp::kSyncError, err, 0, what);
  ::_exit(1);
}

}  // namespace berth::monitor
