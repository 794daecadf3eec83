// Whether the kernel can execute a container's command, looked at before a
// runtime that cannot tell runs it. runc and crun call execve after their
// `start` or `exec --detach` has returned (or, in the foreground, from a
// process whose failure reads as the command's own exit status 1), so a
// file in no format the kernel knows (ENOEXEC: no "#!", not ELF, an ELF of
// another machine) would not get docker's 126. builtin and berth-runtime
// report the execve's own errno and need no look.
#pragma once

#include <sys/types.h>

#include <string_view>

#include "base/error.h"
#include "oci/spec.h"

namespace berth::engine {

// The verdict on a file's first bytes (at least 64 of them when it has as
// many): true when the kernel's own loaders would refuse it with ENOEXEC
// (binfmt_script needs "#!", binfmt_elf an executable or shared ELF of this
// machine or its 32-bit sibling). Pure.
bool exec_format_refused(std::string_view head);

// Finds `process.args[0]` as the runtime would (a path, else each $PATH
// entry of process.env, relative ones from process.cwd; the first regular
// file with an x bit) inside the root of the running process `pid` (the
// container's init: its mounts included), confined to that root, and reads
// its first bytes. ENOEXEC with runc's wording (`exec: "CMD": exec format
// error`) when execve would refuse it; success when it would not, and when
// there is nothing to look at (not found, not readable: the runtime then
// reports its own error), and whenever binfmt_misc has formats registered
// (it may run anything: a foreign ELF through qemu, a file by its name).
Result<> check_exec_format(pid_t pid, const oci::Process& process);

}  // namespace berth::engine
