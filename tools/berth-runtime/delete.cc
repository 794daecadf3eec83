#include "commands.h"

namespace berth::tool {

void add_delete(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("delete", "delete a container and what the runtime holds for it");
  auto id = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  cmd->add_option("id", *id, "container id")->required();
  cmd->add_flag("-f,--force", *force, "kill the container first when it is running");
  cmd->callback([&g, id, force]() { g.exit_code = check(runtime::Runtime(g.root).remove(*id, *force)); });
}

}  // namespace berth::tool
