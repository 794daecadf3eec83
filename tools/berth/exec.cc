// berth exec [-i] [-t] [-d] [-e K=V] [--env-file F] [-u USER] [-w DIR]
// [--privileged] CONTAINER COMMAND [ARG...]: a process in a running
// container; berth exits with its status (docker's 126/127 when the command
// cannot be run or is not found, 125 for berth's own errors); with -d it
// prints the exec session's id, as podman does.
#include <cerrno>
#include <cstdio>

#include "commands.h"
#include "engine/command_failure.h"
#include "engine/container_exec.h"
#include "oci/config.h"

namespace berth::tool {

namespace {

Result<int> run_exec(const Globals& g, const std::string& container, engine::ExecRequest request) {
  BERTH_TRY_ASSIGN(engine, open_engine(g));
  BERTH_TRY_ASSIGN(c, engine.container(container));
  if (c.state == engine::ContainerState::paused)
    return error("container {} is paused, unpause it before exec", c.name);
  if (c.state != engine::ContainerState::running || c.pid <= 0)
    return error("container {} is not running", c.name);
  BERTH_TRY_ASSIGN(spec, oci::load_config(engine.paths().bundle(c.id)));
  if (!spec.process) return error("container {}: config.json has no process", c.name);
  BERTH_TRY_ASSIGN(process, engine::exec_process(*spec.process, request, fmt::format("/proc/{}/root", c.pid)));
  BERTH_TRY_ASSIGN(handler, engine.handler(c.runtime));
  engine::ExecSessionPlace session{engine.config().monitor_path, engine.paths().run_dir(c.id)};
  std::string session_id;
  auto status = engine::exec_in_container(*handler, c.id, std::move(process), request, session, &session_id);
  if (!status) {
    // The command itself could not run: docker's 127/126.
    if (int code = engine::command_failure_status(status.error()); code != 0) {
      report(status.error());
      return code;
    }
  }
  // Detached: the session's id, as podman prints it.
  if (status && request.detach) std::printf("%s\n", session_id.c_str());
  return status;
}

}  // namespace

void add_exec(CLI::App& app, Globals& g) {
  auto setup = [&g](CLI::App* cmd) {
    auto request = std::make_shared<engine::ExecRequest>();
    cmd->add_flag("-i,--interactive", request->interactive, "keep stdin open");
    cmd->add_flag("-t,--tty", request->tty, "allocate a terminal");
    cmd->add_flag("-d,--detach", request->detach, "run in the background");
    cmd->add_option("-e,--env", request->env, "KEY=VALUE (or KEY: from berth's environment)")
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    cmd->add_option("--env-file", request->env_files, "a file of KEY=VALUE lines")
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    cmd->add_option("-u,--user", request->user, "user[:group], names or numbers");
    cmd->add_option("-w,--workdir", request->workdir, "working directory in the container");
    cmd->add_flag("--privileged", request->privileged, "every capability");
    // Flags stop at the container: CONTAINER COMMAND [ARG...] as they are.
    cmd->prefix_command();
    cmd->fallthrough(false);
    cmd->footer("Arguments: CONTAINER COMMAND [ARG...]");
    cmd->callback([&g, cmd, request]() {
      auto args = cmd->remaining();
      if (args.size() < 2) return void(g.exit_code = report(Error(EINVAL, "exec: a container and a command are required")));
      request->command.assign(args.begin() + 1, args.end());
      auto status = run_exec(g, args[0], *request);
      g.exit_code = status ? *status : report(status.error());
    });
  };
  setup(app.add_subcommand("exec", "run a command in a running container"));
  setup(group(app, "container", "manage containers")->add_subcommand("exec", "run a command in a running container"));
}

}  // namespace berth::tool
