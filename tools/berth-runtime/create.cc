#include "commands.h"
#include "runtime/exe_guard.h"

namespace berth::tool {

void add_create_options(CLI::App& cmd, runtime::CreateOptions& opts) {
  cmd.add_option("id", opts.id, "container id")->required();
  cmd.add_option("-b,--bundle", opts.bundle, "path to the bundle directory")->capture_default_str();
  cmd.add_option("--console-socket", opts.console_socket, "unix socket that receives the pty master");
  cmd.add_option("--pid-file", opts.pid_file, "file to write the container's pid to");
  cmd.add_flag("--no-pivot", opts.no_pivot, "do not use pivot_root (for a rootfs on a ramdisk)");
  cmd.add_flag("--no-new-keyring", opts.no_new_keyring, "do not create a new session keyring");
  cmd.add_option("--preserve-fds", opts.preserve_fds, "pass N extra fds (3..3+N-1) to the container")
      ->check(CLI::NonNegativeNumber);
}

void add_create(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("create", "create a container");
  auto opts = std::make_shared<runtime::CreateOptions>();
  add_create_options(*cmd, *opts);
  cmd->callback([&g, opts]() {
    if (auto r = runtime::ensure_protected_exe(g.argc, g.argv); !r) {
      g.exit_code = report(r.error());
      return;
    }
    g.exit_code = check(runtime::Runtime(g.root).create(*opts));
  });
}

}  // namespace berth::tool
