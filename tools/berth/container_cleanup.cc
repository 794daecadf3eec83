// berth container cleanup ID: the monitor's exit command (records the exit,
// releases the container's runtime state, network and rootfs, then --rm or
// the restart policy). Idempotent.
#include "commands.h"

namespace berth::tool {

void add_container_cleanup(CLI::App& app, Globals& g) {
  auto id = std::make_shared<std::string>();
  auto* cmd = group(app, "container", "manage containers")
                  ->add_subcommand("cleanup", "clean up after a container exited (run by berth-monitor)");
  cmd->add_option("container", *id, "container id")->required();
  cmd->callback([&g, id]() {
    auto engine = open_engine(g);
    if (!engine) return void(g.exit_code = report(engine.error()));
    g.exit_code = check(engine->cleanup(*id));
  });
}

}  // namespace berth::tool
