// The one typed message channel between the runtime and a container's init
// (design.md #9): a SOCK_SEQPACKET socketpair, one message per datagram, that
// also carries errors back, so a failure inside the child reaches the user
// with its errno and context intact.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "base/error.h"
#include "base/fd.h"

namespace berth {

struct Message {
  uint32_t type = 0;
  int64_t value = 0;
  std::string text;
};

class Channel {
 public:
  // Both ends, close-on-exec.
  static Result<std::pair<Channel, Channel>> make_pair();

  Channel() = default;
  explicit Channel(UniqueFd sock) : sock_(std::move(sock)) {}

  Result<> send(uint32_t type, int64_t value = 0, std::string_view text = {}) const;
  // Sends `err` so that recv() on the other end returns it as its error.
  void send_error(const Error& err) const;
  // The next message; an error sent with send_error() comes back as the error.
  // EOF (the peer exited) is an error saying so.
  Result<Message> recv() const;
  // recv() where EOF is no error: nullopt once every peer closed its end
  // (exited, or exec'd with the end close-on-exec).
  Result<std::optional<Message>> recv_or_eof() const;
  // recv() that also checks the type.
  Result<Message> expect(uint32_t type, const char* what) const;

  const UniqueFd& socket() const { return sock_; }
  void close() { sock_.reset(); }

 private:
  UniqueFd sock_;
};

}  // namespace berth
