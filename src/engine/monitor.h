// Starting and talking to berth-monitor, the small supervisor that stays
// beside each container (conmon's role): it owns the container's stdio pipes
// or pty master, writes the log (CRI format, size-rotated), serves attach
// clients on <run_dir>/attach.sock, records the exit status in
// <run_dir>/exit, and then runs the exit command (the engine's cleanup,
// which applies --rm and the restart policy). Containers outlive the
// `berth` command that started them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

namespace berth::engine {

struct MonitorSpec {
  std::string id;
  std::string monitor_binary;           // path of berth-monitor
  std::string run_dir;                  // Paths::run_dir(id), existing
  std::string log_path;                 // Paths::log_file(id)
  int64_t log_max_size = 10 << 20;      // bytes before rotation (ctr.log -> ctr.log.1)
  int log_max_files = 1;                // rotated files kept besides the live one
  bool terminal = false;                // -t: a pty, its master received on a console socket
  bool stdin_open = false;              // -i: the container's stdin stays open for attach clients
  std::vector<std::string> exit_command;  // argv run, detached, after the exit file is written
};

// The container's stdio as the create step must pass it to the runtime:
// fds 0-2 of the forked process are already the container's stdio (pipes,
// or /dev/null with a terminal); with a terminal the runtime sends the pty
// master to `console_socket`.
struct ContainerStdio {
  std::string console_socket;  // "" without a terminal
};

struct MonitorStarted {
  pid_t monitor_pid = 0;
  pid_t container_pid = 0;
};

// Forks the monitor: the child becomes a session leader and child
// subreaper, sets up the stdio (pipes, or a console socket), calls `create`
// (which must leave the container's init as its child or orphan, so that it
// reparents to it: the builtin handler forks it, an oci handler's `create`
// process exits and leaves it), then execs berth-monitor, which supervises
// the init until it exits. Returns once the container is created, or
// create's error carried back from the child (once it returns, attach.sock
// listens: a client connecting before the container starts misses nothing).
// A previous run's exit file in run_dir is removed first. `create` runs in a
// forked copy of the caller: no threads, no locks held. The monitor is
// forked twice: it is nobody's child (the nearest subreaper adopts it).
Result<MonitorStarted> start_monitor(const MonitorSpec& spec, const std::function<Result<pid_t>(const ContainerStdio&)>& create);

struct ExitStatus {
  int exit_code = 0;       // 128+signal for a signal
  int64_t finished_at = 0; // unix ns
  bool oom_killed = false;
};
// <run_dir>/exit if the container has exited.
Result<std::optional<ExitStatus>> read_exit(const std::string& run_dir);
// Waits (inotify) for <run_dir>/exit; `timeout_ms` < 0 = forever. ETIMEDOUT on timeout.
Result<ExitStatus> wait_exit(const std::string& run_dir, int timeout_ms = -1);

}  // namespace berth::engine
