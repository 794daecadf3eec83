// berth pause CONTAINER... / berth unpause CONTAINER...: freeze and thaw.
#include <cstdio>

#include "commands.h"
#include "engine/container_pause.h"

namespace berth::tool {

namespace {

using Change = Result<> (*)(engine::Engine&, std::string_view);

void add_change(CLI::App& app, Globals& g, const char* verb, const char* description, Change change) {
  auto ids = std::make_shared<std::vector<std::string>>();
  auto setup = [&g, ids, change](CLI::App* cmd) {
    cmd->add_option("container", *ids, "container names or ids")->required();
    cmd->callback([&g, ids, change]() {
      auto engine = open_engine(g);
      if (!engine) return void(g.exit_code = report(engine.error()));
      for (const auto& id : *ids) {
        if (auto r = change(*engine, id); !r)
          g.exit_code = report(r.error());
        else
          std::printf("%s\n", id.c_str());
      }
    });
  };
  setup(app.add_subcommand(verb, description));
  setup(group(app, "container", "manage containers")->add_subcommand(verb, description));
}

}  // namespace

void add_pause(CLI::App& app, Globals& g) {
  add_change(app, g, "pause", "pause every process of containers", engine::pause_container);
}

void add_unpause(CLI::App& app, Globals& g) {
  add_change(app, g, "unpause", "resume the processes of paused containers", engine::unpause_container);
}

}  // namespace berth::tool
