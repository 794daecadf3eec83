#include <signal.h>

#include "commands.h"

namespace berth::tool {

void add_kill(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("kill", "send a signal (default SIGTERM) to a container's init");
  struct Args {
    std::string id, signal = "SIGTERM";
    bool all = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("id", a->id, "container id")->required();
  cmd->add_option("signal", a->signal, "signal name or number");
  cmd->add_flag("-a,--all", a->all, "send the signal to every process in the container's cgroup");
  cmd->callback([&g, a]() {
    auto sig = runtime::parse_signal(a->signal);
    if (!sig) {
      g.exit_code = report(sig.error());
      return;
    }
    g.exit_code = check(runtime::Runtime(g.root).kill(a->id, *sig, a->all));
  });
}

}  // namespace berth::tool
