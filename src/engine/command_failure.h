// docker's exit statuses for a container command that could not be run.
#pragma once

#include "base/error.h"

namespace berth::engine {

// From the error of a create or an exec: 127 when the command is not found,
// 126 when it is found but cannot be executed (no x bit, a directory, a bad
// format); 0 for any other failure. Every handler fails such a command with
// the runtime's `exec: "CMD"...` message (runc's wording) and ENOENT or
// EACCES, or, when execve itself refused the file's format, with ENOEXEC
// (only execve fails so) and a message naming the file.
int command_failure_status(const Error& err);

// A runtime's start error whose text says that the init's execve refused the
// file's format (berth's runtime passes the init's failure to `start` as
// text, through the exec fifo): the same message with ENOEXEC, so that
// command_failure_status answers 126. Any other error is returned as it is.
Error with_exec_format_errno(Error err);

}  // namespace berth::engine
