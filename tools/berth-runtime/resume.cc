#include "commands.h"

namespace berth::tool {

void add_resume(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("resume", "resume every process of a paused container");
  auto id = std::make_shared<std::string>();
  cmd->add_option("id", *id, "container id")->required();
  cmd->callback([&g, id]() { g.exit_code = check(runtime::Runtime(g.root).resume(*id)); });
}

}  // namespace berth::tool
