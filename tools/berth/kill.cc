// berth kill [-s SIGNAL] CONTAINER...: a signal (default SIGKILL) to the init.
#include <cstdio>

#include "commands.h"

namespace berth::tool {

void add_kill(CLI::App& app, Globals& g) {
  struct Opts {
    std::vector<std::string> ids;
    std::string signal = "KILL";
  };
  auto o = std::make_shared<Opts>();
  auto setup = [&g, o](CLI::App* cmd) {
    cmd->add_option("container", o->ids, "container names or ids")->required();
    cmd->add_option("-s,--signal", o->signal, "signal name or number")->capture_default_str();
    cmd->callback([&g, o]() {
      for_each_container(g, o->ids,
                         [&](engine::Engine& engine, const std::string& id) { return engine.kill(id, o->signal); });
    });
  };
  setup(app.add_subcommand("kill", "send a signal to running containers"));
  setup(group(app, "container", "manage containers")->add_subcommand("kill", "send a signal to running containers"));
}

}  // namespace berth::tool
