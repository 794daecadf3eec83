// berth stop [-t N] CONTAINER...: stop signal, then SIGKILL after the timeout.
#include <cstdio>

#include "commands.h"

namespace berth::tool {

void add_stop(CLI::App& app, Globals& g) {
  struct Opts {
    std::vector<std::string> ids;
    std::optional<int> timeout;
  };
  auto o = std::make_shared<Opts>();
  auto setup = [&g, o](CLI::App* cmd) {
    cmd->add_option("container", o->ids, "container names or ids")->required();
    cmd->add_option("-t,--time,--timeout", o->timeout, "seconds to wait before killing (default: the container's, 10)");
    cmd->callback([&g, o]() {
      for_each_container(g, o->ids,
                         [&](engine::Engine& engine, const std::string& id) { return engine.stop(id, o->timeout); });
    });
  };
  setup(app.add_subcommand("stop", "stop running containers"));
  setup(group(app, "container", "manage containers")->add_subcommand("stop", "stop running containers"));
}

}  // namespace berth::tool
