// The engine talks to a runtime through one interface with interchangeable
// handlers, as rkt composed its stage1 flavours:
//   builtin  the runtime library in process (runtime/container.h): the default, fastest
//   oci      any runc-compatible binary (berth-runtime, runc, crun), with its own --root
// Handlers are named in berth.toml ([runtimes.NAME] type/path) and chosen
// per container with --runtime NAME.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/spec.h"
#include "oci/state.h"

namespace berth::engine {

struct HandlerCreate {
  std::string id;
  std::string bundle;          // holds config.json
  std::string console_socket;  // for a terminal
  // The init's stdio are the caller's fds 0-2 (berth-monitor's pipes).
};

struct HandlerState {
  oci::Status status = oci::Status::stopped;
  pid_t pid = 0;
};

struct HandlerExec {
  std::string id;
  oci::Process process;
  bool detach = false;
  std::string console_socket;  // with process.terminal
  std::string pid_file;
};

class RuntimeHandler {
 public:
  virtual ~RuntimeHandler() = default;
  virtual const std::string& name() const = 0;
  // Leaves the init waiting for start(); returns its pid.
  virtual Result<pid_t> create(const HandlerCreate& request) = 0;
  virtual Result<> start(std::string_view id) = 0;
  virtual Result<> kill(std::string_view id, int signal, bool all) = 0;
  // Removes the runtime's state of the container; `force` kills it first.
  virtual Result<> remove(std::string_view id, bool force) = 0;
  virtual Result<HandlerState> state(std::string_view id) = 0;
  virtual Result<> pause(std::string_view id) = 0;
  virtual Result<> resume(std::string_view id) = 0;
  virtual Result<std::vector<pid_t>> processes(std::string_view id) = 0;
  // Runs a process in the container; its exit status (0 when detached).
  virtual Result<int> exec(const HandlerExec& request) = 0;
};

// The runtime library in this process, its state under `state_root`
// (Paths::builtin_runtime_root()). create() leaves the init a child of the
// calling process (start_monitor's forked monitor-to-be).
std::unique_ptr<RuntimeHandler> make_builtin_handler(std::string name, std::string state_root);
// A runc-compatible binary at `binary`, run with `--root state_root`
// (Paths::oci_runtime_root(name) unless berth.toml names one).
std::unique_ptr<RuntimeHandler> make_oci_handler(std::string name, std::string binary, std::string state_root);

// The runtime-spec `process` object of an exec as JSON (the --process file).
std::string process_to_json(const oci::Process& process);

}  // namespace berth::engine
