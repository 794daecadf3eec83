#include "commands.h"
#include "runtime/exe_guard.h"

namespace berth::tool {

void add_run(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("run", "create and start a container, and wait for it unless detached");
  auto opts = std::make_shared<runtime::CreateOptions>();
  auto detach = std::make_shared<bool>(false);
  add_create_options(*cmd, *opts);
  cmd->add_flag("-d,--detach", *detach, "detach from the container's process");
  cmd->callback([&g, opts, detach]() {
    if (auto r = runtime::ensure_protected_exe(g.argc, g.argv); !r) {
      g.exit_code = report(r.error());
      return;
    }
    auto code = runtime::Runtime(g.root).run(*opts, *detach);
    g.exit_code = code ? *code : report(code.error());
  });
}

}  // namespace berth::tool
