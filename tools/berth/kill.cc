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
      auto engine = open_engine(g);
      if (!engine) return void(g.exit_code = report(engine.error()));
      for (const auto& id : o->ids) {
        if (auto r = engine->kill(id, o->signal); !r)
          g.exit_code = report(r.error());
        else
          std::printf("%s\n", id.c_str());
      }
    });
  };
  setup(app.add_subcommand("kill", "send a signal to running containers"));
  setup(group(app, "container", "manage containers")->add_subcommand("kill", "send a signal to running containers"));
}

}  // namespace berth::tool
