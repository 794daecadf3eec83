// berth start [-a] CONTAINER...: start created or exited containers.
#include <cstdio>

#include "commands.h"

namespace berth::tool {
namespace {

struct Opts {
  std::vector<std::string> ids;
  bool attach = false, interactive = false;
};

}  // namespace

void add_start(CLI::App& app, Globals& g) {
  auto o = std::make_shared<Opts>();
  auto setup = [&g, o](CLI::App* cmd) {
    cmd->add_option("container", o->ids, "container names or ids")->required();
    cmd->add_flag("-a,--attach", o->attach, "attach to the container's output and return its exit status");
    cmd->add_flag("-i,--interactive", o->interactive, "forward stdin (with -a)");
    cmd->callback([&g, o]() {
      if (o->attach) {
        auto engine = open_engine(g);
        if (!engine) return void(g.exit_code = report(engine.error()));
        if (o->ids.size() != 1) return void(g.exit_code = report(Error(EINVAL, "start -a takes one container")));
        auto status = engine->start_attached(o->ids.front(), o->interactive);
        g.exit_code = status ? status->value_or(0) : report(status.error());
        return;
      }
      for_each_container(g, o->ids,
                         [&](engine::Engine& engine, const std::string& id) { return engine.start(id); });
    });
  };
  setup(app.add_subcommand("start", "start containers"));
  setup(group(app, "container", "manage containers")->add_subcommand("start", "start containers"));
}

}  // namespace berth::tool
