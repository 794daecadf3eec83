#include "base/unix_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace berth {

Result<UniqueFd> connect_unix(const std::string& path, int type) {
  UniqueFd sock(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  if (!sock) return sys_error(errno, "create unix socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string target = path;
  UniqueFd opath;
  if (path.size() >= sizeof addr.sun_path) {
    opath.reset(::open(path.c_str(), O_PATH | O_CLOEXEC));
    if (!opath) return sys_error(errno, "open \"{}\"", path);
    target = fmt::format("/proc/self/fd/{}", opath.get());
  }
  std::memcpy(addr.sun_path, target.c_str(), target.size() + 1);
  int r;
  do {
    r = ::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return sys_error(errno, "connect to \"{}\"", path);
  return sock;
}

}  // namespace berth
