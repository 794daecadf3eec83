#include "runtime/console.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include "base/unix_socket.h"

namespace berth::runtime {
namespace {

Result<UniqueFd> open_ptmx() {
  // /dev/ptmx is a symlink to pts/ptmx in most container /devs; a bare devpts
  // mount without it still has its own ptmx node.
  for (const char* path : {"/dev/ptmx", "/dev/pts/ptmx"}) {
    int fd = ::open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd >= 0) return UniqueFd(fd);
    if (errno != ENOENT) return sys_error(errno, "open \"{}\"", path);
  }
  return sys_error(ENOENT, "open \"/dev/ptmx\"");
}

// The pty number in the master's own devpts instance. ptsname(3) would go
// through the host's view of /dev/pts and can be wrong in a container.
Result<unsigned> pty_number(const UniqueFd& master) {
  unsigned n = 0;
  if (::ioctl(master.get(), TIOCGPTN, &n) < 0) return sys_error(errno, "get pty number");
  return n;
}

Result<UniqueFd> open_slave(const UniqueFd& master, const std::string& path) {
  // TIOCGPTPEER (Linux 4.13) opens the peer without a path lookup, so nothing
  // in the container's /dev can redirect it.
  int fd = ::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd >= 0) return UniqueFd(fd);
  if (errno != EINVAL && errno != ENOTTY) return sys_error(errno, "open pty peer \"{}\"", path);
  fd = ::open(path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return sys_error(errno, "open \"{}\"", path);
  return UniqueFd(fd);
}


}  // namespace

Result<> resize_pty(const UniqueFd& pty, const oci::ConsoleSize& size) {
  constexpr uint32_t kMax = std::numeric_limits<unsigned short>::max();
  if (size.height > kMax || size.width > kMax)
    return error("process.consoleSize: {}x{} (height x width) exceeds {}", size.height, size.width, kMax);
  winsize ws{};
  ws.ws_row = static_cast<unsigned short>(size.height);
  ws.ws_col = static_cast<unsigned short>(size.width);
  if (::ioctl(pty.get(), TIOCSWINSZ, &ws) < 0) return sys_error(errno, "set console size");
  return {};
}

Result<Pty> open_pty(const std::optional<oci::ConsoleSize>& size) {
  Pty pty;
  BERTH_TRY_ASSIGN(master, open_ptmx());
  pty.master = std::move(master);
  int unlock = 0;
  if (::ioctl(pty.master.get(), TIOCSPTLCK, &unlock) < 0) return sys_error(errno, "unlock pty");
  BERTH_TRY_ASSIGN(n, pty_number(pty.master));
  pty.slave_path = fmt::format("/dev/pts/{}", n);
  BERTH_TRY_ASSIGN(slave, open_slave(pty.master, pty.slave_path));
  pty.slave = std::move(slave);
  if (size) BERTH_TRY(resize_pty(pty.master, *size));
  return pty;
}

Result<> become_console(const UniqueFd& slave) {
  // A clone()d container process leads no session; setsid makes it lead a new
  // one without a terminal. setsid fails (EPERM) for a process-group leader, so
  // a caller that already leads its session keeps it.
  if (::getsid(0) != ::getpid() && ::setsid() < 0) return sys_error(errno, "create session for console");
  if (::ioctl(slave.get(), TIOCSCTTY, 0) < 0) return sys_error(errno, "set controlling terminal");
  for (int target = 0; target <= 2; ++target) {
    if (slave.get() == target) {
      // dup2 onto itself keeps O_CLOEXEC: clear it by hand.
      int flags = ::fcntl(target, F_GETFD);
      if (flags < 0 || ::fcntl(target, F_SETFD, flags & ~FD_CLOEXEC) < 0)
        return sys_error(errno, "make console fd {} inheritable", target);
      continue;
    }
    if (::dup2(slave.get(), target) < 0) return sys_error(errno, "dup console onto fd {}", target);
  }
  return {};
}

Result<> mount_console(const std::string& slave_path) {
  // O_EXCL: never open (and so never trigger) whatever device already sits there.
  int fd = ::open("/dev/console", O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_WRONLY, 0666);
  if (fd >= 0) {
    ::close(fd);
  } else if (errno != EEXIST) {
    return sys_error(errno, "create \"/dev/console\"");
  }
  if (::mount(slave_path.c_str(), "/dev/console", nullptr, MS_BIND, nullptr) < 0)
    return sys_error(errno, "bind \"{}\" to \"/dev/console\"", slave_path);
  return {};
}

Result<> send_fd(const UniqueFd& sock, const UniqueFd& fd, const std::string& payload) {
  if (payload.empty()) return error("send fd: empty payload");
  if (payload.size() >= kMaxFdPayload) return error("send fd: payload of {} bytes is too long", payload.size());
  iovec iov{const_cast<char*>(payload.data()), payload.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  int raw = fd.get();
  std::memcpy(CMSG_DATA(c), &raw, sizeof raw);
  ssize_t n;
  do {
    n = ::sendmsg(sock.get(), &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return sys_error(errno, "send fd");
  // The fd travels with the first byte; finish a (rare) short write of the rest.
  for (size_t done = static_cast<size_t>(n); done < payload.size();) {
    ssize_t m = ::send(sock.get(), payload.data() + done, payload.size() - done, MSG_NOSIGNAL);
    if (m < 0 && errno == EINTR) continue;
    if (m < 0) return sys_error(errno, "send fd payload");
    done += static_cast<size_t>(m);
  }
  return {};
}

Result<UniqueFd> recv_fd(const UniqueFd& sock, std::string* payload) {
  char buf[kMaxFdPayload];
  iovec iov{buf, sizeof buf};
  // Room for a few fds: a peer that sends more must not leak them into us.
  constexpr int kMaxFds = 8;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(sock.get(), &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return sys_error(errno, "receive fd");

  UniqueFd got;
  int extra = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      if (!got) {
        got.reset(fd);
      } else {
        ::close(fd);
        ++extra;
      }
    }
  }
  if (msg.msg_flags & MSG_CTRUNC) return error("receive fd: control message truncated");
  if (extra > 0) return error("receive fd: expected one fd, got {}", extra + 1);
  if (!got) {
    if (n == 0) return error("receive fd: peer closed the socket before sending an fd");
    return error("receive fd: message of {} bytes carried no fd", n);
  }
  if (payload) payload->assign(buf, static_cast<size_t>(n));
  return got;
}

Result<> send_console(const std::string& socket_path, const UniqueFd& master) {
  auto sock = connect_unix(socket_path, SOCK_STREAM);
  // A listener of another type refuses a stream peer with EPROTOTYPE.
  if (!sock && sock.error().code() == EPROTOTYPE) sock = connect_unix(socket_path, SOCK_SEQPACKET);
  if (!sock) return std::unexpected(std::move(sock.error().context("console socket")));
  return with_context(send_fd(*sock, master, "/dev/ptmx"), fmt::format("console socket \"{}\"", socket_path));
}

}  // namespace berth::runtime
