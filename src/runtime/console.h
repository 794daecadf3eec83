// Terminals: a pty for process.terminal=true. The master goes to the caller
// over --console-socket (SCM_RIGHTS, as runc does) ; the slave becomes the
// container process's stdio and controlling terminal.
//
// Order in the container lifecycle (runc's, see docs/terminals.md):
//   child, after its /dev/pts is mounted and the root entered:
//     pty = open_pty(process.consoleSize)
//     mount_console(pty.slave_path)        // /dev/console, per the runtime-spec
//     send_fd(sync_socket, pty.master, pty.slave_path); pty.master.reset()
//     become_console(pty.slave)            // setsid, TIOCSCTTY, dup2 onto 0,1,2
//   parent:
//     master = recv_fd(sync_socket)
//     send_console(console_socket_path, master)   // then close master
#pragma once

#include <optional>
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
// consoleSize applied when given. Both fds are O_CLOEXEC and O_NOCTTY.
Result<Pty> open_pty(const std::optional<oci::ConsoleSize>& size);
// Applies a window size (TIOCSWINSZ) to a pty master or slave.
Result<> resize_pty(const UniqueFd& pty, const oci::ConsoleSize& size);
// Makes `slave` the calling process's controlling terminal and its fds 0,1,2:
// starts a new session first unless the caller already leads one.
Result<> become_console(const UniqueFd& slave);
// Bind-mounts `slave_path` onto /dev/console (creating the file if missing),
// as the runtime-spec asks when process.terminal is set. Needs the
// container's mount namespace and root.
Result<> mount_console(const std::string& slave_path);
// Connects to the unix socket at `socket_path` (SOCK_STREAM, as conmon and
// containerd's shim listen; paths longer than sun_path work too) and sends
// `master` with SCM_RIGHTS. The payload is "/dev/ptmx", byte for byte what
// runc sends (the master's file name; conmon and containerd ignore it).
Result<> send_console(const std::string& socket_path, const UniqueFd& master);
// Sends `fd` over an already connected unix socket; `payload` must be
// non-empty (a stream socket drops ancillary data sent without a data byte),
// shorter than kMaxFdPayload.
Result<> send_fd(const UniqueFd& sock, const UniqueFd& fd, const std::string& payload);
// Receives one fd (O_CLOEXEC) sent by send_fd/send_console, runc or crun.
// When `payload` is given it gets the message sent along with the fd.
Result<UniqueFd> recv_fd(const UniqueFd& sock, std::string* payload = nullptr);

inline constexpr size_t kMaxFdPayload = 4096;  // runc's utils.MaxNameLen

}  // namespace berth::runtime
