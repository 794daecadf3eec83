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

// Runs it through `handler` with our stdio: without -i the process's stdin
// is /dev/null, detached all three are. With -t the runtime relays a pty of
// the process's own (as `runc exec -t`: our terminal in raw mode, its size
// passed on, SIGWINCH included); -d with -t is refused (nothing would hold
// the terminal). Returns the process's exit status (128+signal when
// killed; 0 when detached).
Result<int> exec_in_container(RuntimeHandler& handler, const std::string& id, oci::Process process,
                              const ExecRequest& request);

}  // namespace berth::engine
