// berth wait CONTAINER...: blocks until each exits; prints the exit codes.
#include <cstdio>

#include "commands.h"

namespace berth::tool {

void add_wait(CLI::App& app, Globals& g) {
  auto ids = std::make_shared<std::vector<std::string>>();
  auto setup = [&g, ids](CLI::App* cmd) {
    cmd->add_option("container", *ids, "container names or ids")->required();
    cmd->callback([&g, ids]() {
      auto engine = open_engine(g);
      if (!engine) return void(g.exit_code = report(engine.error()));
      for (const auto& id : *ids) {
        auto code = engine->wait(id);
        if (!code)
          g.exit_code = report(code.error());
        else
          std::printf("%d\n", *code);
        std::fflush(stdout);
      }
    });
  };
  setup(app.add_subcommand("wait", "wait for containers to exit; print their exit codes"));
  setup(group(app, "container", "manage containers")->add_subcommand("wait", "wait for containers to exit"));
}

}  // namespace berth::tool
