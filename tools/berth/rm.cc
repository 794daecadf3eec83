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
      auto engine = open_engine(g);
      if (!engine) return void(g.exit_code = report(engine.error()));
      for (const auto& id : o->ids) {
        if (auto r = engine->remove(id, o->force, o->volumes); !r)
          g.exit_code = report(r.error());
        else
          std::printf("%s\n", id.c_str());
      }
    });
  };
  setup(app.add_subcommand("rm", "remove containers"));
  setup(group(app, "container", "manage containers")->add_subcommand("rm", "remove containers"));
}

}  // namespace berth::tool
