// berth top CONTAINER [ps options]: the container's processes as ps shows
// them (default -ef).
#include <cstdio>

#include "commands.h"
#include "engine/top.h"

namespace berth::tool {

void add_top(CLI::App& app, Globals& g) {
  auto setup = [&g](CLI::App* cmd) {
    // CONTAINER [ps options]: what follows the container goes to ps as it is.
    cmd->prefix_command();
    cmd->fallthrough(false);
    cmd->footer("Arguments: CONTAINER [ps options]");
    cmd->callback([&g, cmd]() {
      g.exit_code = check([&]() -> Result<> {
        auto args = cmd->remaining();
        if (args.empty()) return error("top: a container is required");
        std::vector<std::string> ps_args(args.begin() + 1, args.end());
        BERTH_TRY_ASSIGN(engine, open_engine(g));
        BERTH_TRY_ASSIGN(c, engine.container(args[0]));
        if (c.state != engine::ContainerState::running && c.state != engine::ContainerState::paused)
          return error("container {} is not running", c.name);
        BERTH_TRY_ASSIGN(handler, engine.handler(c.runtime));
        BERTH_TRY_ASSIGN(text, engine::container_top(*handler, c.id, ps_args));
        std::fputs(text.c_str(), stdout);
        return {};
      }());
    });
  };
  setup(app.add_subcommand("top", "show the processes of a container"));
  setup(group(app, "container", "manage containers")->add_subcommand("top", "show the processes of a container"));
}

}  // namespace berth::tool
