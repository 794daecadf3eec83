// docker's exit statuses for a container command that could not be run.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace berth::engine {

// From the error of a create or an exec: 127 when the command is not found,
// 126 when it is found but cannot be executed (no x bit, a directory, a bad
// format); 0 for any other failure. Every handler fails such a command with
// the runtime's `exec: "CMD"...` message (runc's wording) and ENOENT or
// EACCES, or, when execve itself refused the file's format, with ENOEXEC
// (only execve fails so) and a message naming the file.
int command_failure_status(const Error& err);

// A runc-compatible runtime's message about a container command that could
// not be run, as an error command_failure_status understands: runc's and
// berth-runtime's `exec: "CMD"...` (berth-runtime's `exec "PATH": ...` for
// the execve) as it is; crun's words, which do not
// follow runc's (`executable file `CMD` not found in $PATH: ...`, and
// `open executable: ...` that names no file), prefixed with runc's
// `exec: "COMMAND": ` naming `command` (the process's args[0]). The errno
// comes from the words: ENOENT not found, EACCES found but not executable
// (crun's EPERM for a directory included), ENOEXEC a format execve refused.
// Any other message: errno 0 and the message as it is.
Error runtime_command_error(std::string message, std::string_view command);

// A runtime's start error whose text says that the init's execve refused the
// file's format (berth's runtime passes the init's failure to `start` as
// text, through the exec fifo): the same message with ENOEXEC, so that
// command_failure_status answers 126. Any other error is returned as it is.
Error with_exec_format_errno(Error err);

}  // namespace berth::engine
