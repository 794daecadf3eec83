// `exec`: a new process in a running container, as `runc exec` runs it.
//
// The process joins every namespace of the container's init (one
// setns(pidfd) in an intermediate process, which then clones it with
// CLONE_PARENT so it is the runtime's child and, for a pid namespace, inside
// it), is born in the container's cgroup, and gets the container's
// attributes: the rlimits, capabilities, no_new_privs, security labels,
// personality and seccomp filter of the container's process unless the
// exec'd process sets its own (never fewer restrictions than the container
// by default: the old `rkt enter` flaw), the user, env and cwd given. Every fd
// not passed on purpose is closed before its cwd is entered and before exec
// (CVE-2024-21626), and a cwd that ends up outside the container's root is refused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "oci/spec.h"

namespace berth::runtime {

struct ExecOptions {
  std::string id;
  std::vector<std::string> args;  // command and arguments (without --process)
  std::string process_file;       // --process: a runtime-spec process JSON; the flags below
                                  // that shape the process are then ignored (as runc does)
  bool tty = false;               // -t
  std::string console_socket;
  std::string cwd;
  std::vector<std::string> env;   // KEY=value, appended (a later value wins)
  std::string user;               // "uid[:gid]"
  std::vector<int64_t> additional_gids;
  std::vector<std::string> caps;  // added to bounding, effective, permitted (+ambient when inheritable is set)
  std::optional<bool> no_new_privs;
  std::string apparmor;
  std::string process_label;
  bool detach = false;
  std::string pid_file;
  int preserve_fds = 0;
  bool ignore_paused = false;
};

// The process to run from the flags, runc's way: the container's own
// process (from its config) with args, cwd, env, user, groups, caps, tty,
// no_new_privs and labels overridden or added. Pure; the result is validated
// as config.json's process is.
Result<oci::Process> exec_process_from_flags(const ExecOptions& opts, const oci::Process& container_process);

// Fills what the exec'd process leaves unset with the container's values:
// capabilities, rlimits, apparmor profile, SELinux label; no_new_privileges
// is kept if either sets it. Pure.
oci::Process with_container_defaults(oci::Process process, const oci::Process& container_process);

// "uid[:gid]" of --user; numbers only.
Result<std::pair<uint32_t, std::optional<uint32_t>>> parse_exec_user(std::string_view user);

// KEY=value list with duplicates removed, the last value of a key winning at
// the position of its first occurrence.
std::vector<std::string> merge_env(const std::vector<std::string>& env);

}  // namespace berth::runtime
