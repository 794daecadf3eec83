#include "commands.h"
#include "runtime/checkpoint.h"
#include "runtime/exe_guard.h"

namespace berth::tool {

void add_criu_options(CLI::App& cmd, runtime::CriuOptions& o);

void add_restore(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("restore", "restore a container from a CRIU checkpoint");
  auto o = std::make_shared<runtime::RestoreOptions>();
  auto ignored = std::make_shared<bool>(false);
  cmd->add_option("id", o->id, "container id")->required();
  add_criu_options(*cmd, o->criu);
  cmd->add_option("-b,--bundle", o->bundle, "path to the bundle directory")->capture_default_str();
  cmd->add_flag("-d,--detach", o->detach, "detach from the restored container");
  cmd->add_option("--pid-file", o->pid_file, "file to write the restored init's pid to");
  cmd->add_option("--console-socket", o->console_socket, "unix socket that receives a pty master");
  cmd->add_flag("--no-pivot", o->no_pivot, "accepted for runc compatibility");
  cmd->add_flag("--no-subreaper", *ignored, "accepted for runc compatibility");
  cmd->callback([&g, o]() {
    if (auto r = runtime::ensure_protected_exe(g.argc, g.argv); !r) {
      g.exit_code = report(r.error());
      return;
    }
    o->criu.criu = g.criu;
    auto code = runtime::Runtime(g.root).restore(*o);
    g.exit_code = code ? *code : report(code.error());
  });
}

}  // namespace berth::tool
