// `berth exec`: a new process in a running container. The process starts
// from the container's own (its config.json in the bundle): env, user,
// capabilities, rlimits, no_new_privileges, cwd; the runtime handler's exec
// then runs it in the container's namespaces, cgroup and seccomp filter
// (runtime/exec.h). The flags override what docker lets them override.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "engine/handler.h"
#include "oci/spec.h"

namespace berth::engine {

struct ExecRequest {
  std::vector<std::string> command;   // required
  bool interactive = false;           // -i: our stdin goes to the process
  bool tty = false;                   // -t
  bool detach = false;                // -d
  std::vector<std::string> env;       // -e KEY=VAL or KEY (from berth's env), after --env-file
  std::vector<std::string> env_files; // --env-file
  std::string user;                   // -u user[:group]; "" = the container's
  std::string workdir;                // -w; "" = the container's
  bool privileged = false;            // every capability
};

// The process to run (pure but for reading env files and, with -u, the
// container's /etc/passwd and /etc/group under `rootfs`: a running
// container's /proc/<pid>/root). Env: the container's, --env-file, -e (a
// later value wins), TERM=xterm with -t when unset.
Result<oci::Process> exec_process(const oci::Process& container, const ExecRequest& request,
                                  const std::string& rootfs);

// Where a detached process (-d, with or without -t) is supervised:
// podman's detached exec session. A berth-monitor of its own is the
// process's parent (it reaps it: PID 1 may not) and holds its pty master or
// output pipes, in a session directory made under `run_dir` (the
// container's run dir, removed with it) where it records the exit status
// in `exit`, as a container's monitor does; sessions that ended are swept
// by the next one. The output is discarded, as podman's detached exec
// sessions log nothing.
struct ExecSessionPlace {
  std::string monitor_binary;
  std::string run_dir;
};

// Runs it through `handler` with our stdio: without -i the process's stdin
// is /dev/null; detached its stdin is /dev/null and its output goes to the
// session's monitor. With -t the runtime relays a pty of
// the process's own (as `runc exec -t`: our terminal in raw mode, its size
// passed on, SIGWINCH included); detached with -t, the session's monitor
// holds it. Returns the process's exit status (128+signal when killed; 0
// when detached, the session's id then in `session_id`: podman's exec
// session id, 64 hex digits, naming the session directory
// `<run_dir>/exec-session-<id>`).
Result<int> exec_in_container(RuntimeHandler& handler, const std::string& id, oci::Process process,
                              const ExecRequest& request, const ExecSessionPlace& session = {},
                              std::string* session_id = nullptr);

}  // namespace berth::engine
