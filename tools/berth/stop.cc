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
      auto engine = open_engine(g);
      if (!engine) return void(g.exit_code = report(engine.error()));
      for (const auto& id : o->ids) {
        if (auto r = engine->stop(id, o->timeout); !r)
          g.exit_code = report(r.error());
        else
          std::printf("%s\n", id.c_str());
      }
    });
  };
  setup(app.add_subcommand("stop", "stop running containers"));
  setup(group(app, "container", "manage containers")->add_subcommand("stop", "stop running containers"));
}

}  // namespace berth::tool
