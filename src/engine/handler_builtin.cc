// The builtin handler: runtime/ in this process, no fork+exec of a runtime
// binary (the default and fastest path).
#include <stdlib.h>
#include <unistd.h>

#include "base/file.h"
#include "engine/command_failure.h"
#include "engine/handler.h"
#include "runtime/container.h"
#include "runtime/exec.h"
#include "runtime/launch.h"

namespace berth::engine {
namespace {

class BuiltinHandler final : public RuntimeHandler {
 public:
  BuiltinHandler(std::string name, std::string root) : name_(std::move(name)), runtime_(std::move(root)) {}

  const std::string& name() const override { return name_; }

  Result<pid_t> create(const HandlerCreate& request) override {
    BERTH_TRY(mkdir_p(runtime_.store().root(), 0700));
    runtime::CreateOptions opts;
    opts.id = request.id;
    opts.bundle = request.bundle;
    opts.console_socket = request.console_socket;
    // launch() clones the init with CLONE_PARENT from this process: it is our
    // child, and the monitor this process becomes waits for it.
    BERTH_TRY_ASSIGN(launched, runtime::launch(runtime_.store(), opts, false));
    return launched.record.pid;
  }

  Result<> start(std::string_view id) override {
    // The init's execve failure comes back as text (exec fifo).
    auto started = runtime_.start(std::string(id));
    if (!started) return std::unexpected(with_exec_format_errno(std::move(started).error()));
    return {};
  }

  Result<> kill(std::string_view id, int signal, bool all) override {
    return runtime_.kill(std::string(id), signal, all);
  }

  Result<> remove(std::string_view id, bool force) override { return runtime_.remove(std::string(id), force); }

  Result<HandlerState> state(std::string_view id) override {
    BERTH_TRY_ASSIGN(info, runtime_.info(std::string(id)));
    return HandlerState{info.status, info.status == oci::Status::stopped ? 0 : info.record.pid};
  }

  Result<> pause(std::string_view id) override { return runtime_.pause(std::string(id)); }
  Result<> resume(std::string_view id) override { return runtime_.resume(std::string(id)); }
  Result<std::vector<pid_t>> processes(std::string_view id) override {
    return runtime_.processes(std::string(id));
  }

  Result<int> exec(const HandlerExec& request) override {
    // The runtime takes the process as a runtime-spec file, as `exec --process`.
    std::string path = runtime_.store().dir(request.id) + "/exec-XXXXXX";
    int fd = ::mkstemp(path.data());
    if (fd < 0) return sys_error(errno, "create \"{}\"", path);
    UniqueFd file(fd);
    struct Unlink {
      std::string p;
      ~Unlink() { ::unlink(p.c_str()); }
    } unlink_file{path};
    BERTH_TRY(write_all(file.get(), process_to_json(request.process), path));
    runtime::ExecOptions opts;
    opts.id = request.id;
    opts.process_file = path;
    opts.detach = request.detach;
    opts.console_socket = request.console_socket;
    opts.pid_file = request.pid_file;
    opts.tty = request.process.terminal;
    return runtime_.exec(opts);
  }

 private:
  std::string name_;
  runtime::Runtime runtime_;
};

}  // namespace

std::unique_ptr<RuntimeHandler> make_builtin_handler(std::string name, std::string state_root) {
  return std::make_unique<BuiltinHandler>(std::move(name), std::move(state_root));
}

}  // namespace berth::engine
