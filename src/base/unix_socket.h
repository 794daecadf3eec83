// A connected AF_UNIX socket by path, for paths of any length.
#pragma once

#include <string>

#include "base/error.h"
#include "base/fd.h"

namespace berth {

// Connects a new socket of `type` (SOCK_STREAM, SOCK_SEQPACKET) to `path`,
// close-on-exec. A path too long for sun_path is reached through an O_PATH
// fd of the socket file (/proc/self/fd/N), as podman does. The error keeps
// connect's errno (EPROTOTYPE for a listener of another type).
Result<UniqueFd> connect_unix(const std::string& path, int type);

}  // namespace berth
