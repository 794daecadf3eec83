#include "base/channel.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace berth {
namespace {

constexpr uint32_t kErrorType = 0xffffffff;
constexpr size_t kMaxMessage = 64 * 1024;

struct Header {
  uint32_t type;
  int32_t err;
  int64_t value;
};

}  // namespace

Result<std::pair<Channel, Channel>> Channel::make_pair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return sys_error(errno, "socketpair");
  return std::pair{Channel(UniqueFd(sv[0])), Channel(UniqueFd(sv[1]))};
}

static Result<> send_raw(int fd, const Header& h, std::string_view text) {
  if (text.size() > kMaxMessage - sizeof h) text = text.substr(0, kMaxMessage - sizeof h);
  struct iovec iov[2] = {{const_cast<Header*>(&h), sizeof h},
                         {const_cast<char*>(text.data()), text.size()}};
  struct msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  for (;;) {
    if (::sendmsg(fd, &msg, MSG_NOSIGNAL) >= 0) return {};
    if (errno != EINTR) return sys_error(errno, "send on sync channel");
  }
}

Result<> Channel::send(uint32_t type, int64_t value, std::string_view text) const {
  return send_raw(sock_.get(), Header{type, 0, value}, text);
}

void Channel::send_error(const Error& err) const {
  // The message already holds the context; errno travels separately so the
  // receiver can still tell ENOENT from EPERM.
  std::string text = err.what();
  if (err.code() != 0) {
    std::string suffix = std::string(": ") + std::strerror(err.code());
    if (text.size() >= suffix.size() && text.ends_with(suffix)) text.resize(text.size() - suffix.size());
  }
  (void)send_raw(sock_.get(), Header{kErrorType, err.code(), 0}, text);
}

Result<Message> Channel::recv() const {
  BERTH_TRY_ASSIGN(m, recv_or_eof());
  if (!m) return error("container init exited before finishing set-up");
  return std::move(*m);
}

Result<std::optional<Message>> Channel::recv_or_eof() const {
  // Peek at the datagram's size first: a 64 KiB buffer per message would be
  // most of the runtime's resident memory.
  ssize_t size;
  do {
    size = ::recv(sock_.get(), nullptr, 0, MSG_PEEK | MSG_TRUNC);
  } while (size < 0 && errno == EINTR);
  if (size < 0) return sys_error(errno, "receive on sync channel");
  std::string buf(static_cast<size_t>(size > 0 ? size : 1), '\0');
  ssize_t n;
  do {
    n = ::recv(sock_.get(), buf.data(), buf.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return sys_error(errno, "receive on sync channel");
  if (n == 0) return std::nullopt;
  if (static_cast<size_t>(n) < sizeof(Header)) return error("short message on sync channel");
  Header h;
  std::memcpy(&h, buf.data(), sizeof h);
  std::string text = buf.substr(sizeof h, static_cast<size_t>(n) - sizeof h);
  if (h.type == kErrorType) return std::unexpected(Error(h.err, std::move(text)));
  return Message{h.type, h.value, std::move(text)};
}

Result<Message> Channel::expect(uint32_t type, const char* what) const {
  BERTH_TRY_ASSIGN(m, recv());
  if (m.type != type) return error("sync channel: expected {}, got message type {}", what, m.type);
  return m;
}

}  // namespace berth
