// Terminals: a pty for process.terminal=true. The master goes to the caller
// over --console-socket (SCM_RIGHTS, as runc does) ; the slave becomes the
// container process's stdio and controlling terminal.
#pragma once

#include <string>

#include "base/error.h"
#include "base/fd.h"
#include "oci/spec.h"

namespace berth::runtime {

struct Pty {
  UniqueFd master;
  UniqueFd slave;
  std::string slave_path;  // /dev/pts/N inside the container's devpts
};

// Opens a new pty from /dev/ptmx of the current mount namespace (inside the
// container, after its /dev/pts is mounted and the root is entered), with
// consoleSize applied when given.
Result<Pty> open_pty(const std::optional<oci::ConsoleSize>& size);
// Makes `slave` the calling process's controlling terminal and its fds 0,1,2.
Result<> become_console(const UniqueFd& slave);
// Connects to the unix socket at `socket_path` and sends `master` with SCM_RIGHTS
// (payload: the slave path, like runc).
Result<> send_console(const std::string& socket_path, const UniqueFd& master);
// Sends `fd` over an already connected unix socket.
Result<> send_fd(const UniqueFd& sock, const UniqueFd& fd, const std::string& payload);
Result<UniqueFd> recv_fd(const UniqueFd& sock);

}  // namespace berth::runtime
