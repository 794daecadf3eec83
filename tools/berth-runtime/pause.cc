#include "commands.h"

namespace berth::tool {

void add_pause(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("pause", "suspend every process of a container (cgroup freezer)");
  auto id = std::make_shared<std::string>();
  cmd->add_option("id", *id, "container id")->required();
  cmd->callback([&g, id]() { g.exit_code = check(runtime::Runtime(g.root).pause(*id)); });
}

}  // namespace berth::tool
