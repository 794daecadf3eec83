// The container lifecycle of an OCI runtime, as runc's verbs expose it:
// create -> start -> (running) -> kill -> delete, plus run, state and list.
// One Runtime per state root (--root).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "runtime/state_store.h"

namespace berth::runtime {

struct CreateOptions {
  std::string id;
  std::string bundle = ".";
  std::string console_socket;  // --console-socket: where the pty master goes
  std::string pid_file;
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;
};

struct ExecOptions;
struct CheckpointOptions;
struct RestoreOptions;

struct ContainerInfo {
  ContainerRecord record;
  oci::Status status = oci::Status::stopped;
};

class Runtime {
 public:
  explicit Runtime(std::string root) : store_(std::move(root)) {}

  // Sets up the container and leaves its init blocked until start().
  Result<> create(const CreateOptions& opts);
  // Lets the created container exec its process; runs poststart hooks.
  Result<> start(const std::string& id);
  // create + start; without `detach`, waits for the process, forwarding
  // signals, deletes the container and returns its exit status (128+signal
  // for a signal).
  Result<int> run(const CreateOptions& opts, bool detach);
  Result<> kill(const std::string& id, int signal, bool all);
  // Runs a new process in the container (exec.h); without opts.detach,
  // waits for it like run() and returns its exit status.
  Result<int> exec(const ExecOptions& opts);
  // CRIU (checkpoint.h): dump a running container; restore one from an image.
  Result<> checkpoint(const CheckpointOptions& opts);
  Result<int> restore(const RestoreOptions& opts);
  // Removes a stopped (or created) container; `force` kills a running one.
  Result<> remove(const std::string& id, bool force);
  // Freezes every process of a created or running container (runc's pause;
  // "container not running" otherwise); resume thaws a paused one ("container
  // not paused" otherwise). `state` and `list` show a frozen one as paused.
  Result<> pause(const std::string& id);
  Result<> resume(const std::string& id);
  // The pids (in the caller's pid namespace) of every process in the
  // container's cgroup.
  Result<std::vector<pid_t>> processes(const std::string& id) const;
  Result<ContainerInfo> info(const std::string& id) const;
  Result<std::vector<ContainerInfo>> list() const;

  const StateStore& store() const { return store_; }

 private:
  StateStore store_;
};

// Signal by name (KILL, SIGKILL) or number, as runc's kill takes it.
Result<int> parse_signal(std::string_view s);

}  // namespace berth::runtime
