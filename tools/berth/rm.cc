// berth rm [-f] [-v] CONTAINER...: remove containers (-f kills a running one).
#include <cstdio>

#include "commands.h"

namespace berth::tool {

void add_rm(CLI::App& app, Globals& g) {
  struct Opts {
    std::vector<std::string> ids;
    bool force = false, volumes = false;
  };
  auto o = std::make_shared<Opts>();
  auto setup = [&g, o](CLI::App* cmd) {
    cmd->add_option("container", o->ids, "container names or ids")->required();
    cmd->add_flag("-f,--force", o->force, "kill a running container first");
    cmd->add_flag("-v,--volumes", o->volumes, "remove its anonymous volumes too");
    cmd->callback([&g, o]() {
      for_each_container(g, o->ids, [&](engine::Engine& engine, const std::string& id) {
        return engine.remove(id, o->force, o->volumes);
      });
    });
  };
  setup(app.add_subcommand("rm", "remove containers"));
  setup(group(app, "container", "manage containers")->add_subcommand("rm", "remove containers"));
}

}  // namespace berth::tool
