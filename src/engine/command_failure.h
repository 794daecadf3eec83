// docker's exit statuses for a container command that could not be run.
#pragma once

#include "base/error.h"

namespace berth::engine {

// From the error of a create or an exec: 127 when the command is not found,
// 126 when it is found but cannot be executed (no x bit, a directory, a bad
// format); 0 for any other failure. Every handler fails such a command with
// the runtime's `exec: "CMD"...` message (runc's wording) and ENOENT, EACCES
// or ENOEXEC.
int command_failure_status(const Error& err);

}  // namespace berth::engine
