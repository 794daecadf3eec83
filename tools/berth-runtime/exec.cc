#include "commands.h"
#include "runtime/exe_guard.h"
#include "runtime/exec.h"

namespace berth::tool {

// runc exec: `exec [flags] <id> <command> [args...]` or `exec --process F <id>`.
// Flags stop at the container id, so the command's own flags (sh -c) are its own.
void add_exec(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("exec", "run a new process inside a container");
  auto o = std::make_shared<runtime::ExecOptions>();
  auto nnp = std::make_shared<bool>(false);
  cmd->prefix_command();
  cmd->fallthrough(false);
  cmd->add_option("id", o->id, "container id")->required();
  cmd->add_option("-p,--process", o->process_file, "path to a runtime-spec process JSON");
  cmd->add_flag("-t,--tty", o->tty, "allocate a pseudo-terminal");
  cmd->add_option("--console-socket", o->console_socket, "unix socket that receives the pty master");
  cmd->add_option("--cwd", o->cwd, "working directory in the container");
  cmd->add_option("-e,--env", o->env, "KEY=value (repeatable)")->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("-u,--user", o->user, "uid[:gid]");
  cmd->add_option("-g,--additional-gids", o->additional_gids, "additional group id (repeatable)")
      ->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("-c,--cap", o->caps, "add a capability (repeatable)")->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_flag("--no-new-privs", *nnp, "set no_new_privs for the process");
  cmd->add_option("--apparmor", o->apparmor, "AppArmor profile of the process");
  cmd->add_option("--process-label", o->process_label, "SELinux label of the process");
  cmd->add_flag("-d,--detach", o->detach, "do not wait for the process");
  cmd->add_option("--pid-file", o->pid_file, "file to write the process's pid to");
  cmd->add_option("--preserve-fds", o->preserve_fds, "pass N extra fds (3..3+N-1) to the process")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--ignore-paused", o->ignore_paused, "exec even when the container is paused");
  cmd->callback([&g, cmd, o, nnp]() {
    o->args = cmd->remaining();
    if (!o->args.empty() && o->args.front() == "--") o->args.erase(o->args.begin());
    if (*nnp) o->no_new_privs = true;
    if (auto r = runtime::ensure_protected_exe(g.argc, g.argv); !r) {
      g.exit_code = report(r.error());
      return;
    }
    auto code = runtime::Runtime(g.root).exec(*o);
    // As runc: 255 tells a failed exec from any status of the process.
    if (!code) report(code.error());
    g.exit_code = code ? *code : 255;
  });
}

}  // namespace berth::tool
