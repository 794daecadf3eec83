#include <cstdio>

#include "commands.h"

namespace berth::tool {

void add_state(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("state", "print the state of a container");
  auto id = std::make_shared<std::string>();
  cmd->add_option("id", *id, "container id")->required();
  cmd->callback([&g, id]() {
    auto info = runtime::Runtime(g.root).info(*id);
    if (!info) {
      g.exit_code = report(info.error());
      return;
    }
    std::printf("%s\n", runtime::state_json(info->record, info->status, true).c_str());
  });
}

}  // namespace berth::tool
