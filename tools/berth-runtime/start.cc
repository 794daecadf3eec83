#include "commands.h"

namespace berth::tool {

void add_start(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("start", "start a created container");
  auto id = std::make_shared<std::string>();
  cmd->add_option("id", *id, "container id")->required();
  cmd->callback([&g, id]() { g.exit_code = check(runtime::Runtime(g.root).start(*id)); });
}

}  // namespace berth::tool
