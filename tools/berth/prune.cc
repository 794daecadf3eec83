// berth container prune [-f]: removes every stopped container (asks first
// unless -f), printing their ids and the space reclaimed.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "commands.h"
#include "engine/container_prune.h"
#include "engine/stats.h"

namespace berth::tool {

void add_container_prune(CLI::App& app, Globals& g) {
  auto* cmd = group(app, "container", "manage containers")->add_subcommand("prune", "remove all stopped containers");
  auto force = std::make_shared<bool>(false);
  cmd->add_flag("-f,--force", *force, "do not ask for confirmation");
  cmd->callback([&g, force]() {
    if (!*force) {
      std::fputs("WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ",
                 stdout);
      std::fflush(stdout);
      std::string answer;
      std::getline(std::cin, answer);
      if (answer != "y" && answer != "Y" && answer != "yes") return;
    }
    auto engine = open_engine(g);
    if (!engine) return void(g.exit_code = report(engine.error()));
    auto pruned = engine::prune_containers(*engine);
    if (!pruned) return void(g.exit_code = report(pruned.error()));
    if (!pruned->removed.empty()) {
      std::puts("Deleted Containers:");
      for (const auto& id : pruned->removed) std::puts(id.c_str());
      std::puts("");
    }
    std::printf("Total reclaimed space: %s\n", engine::human_size(static_cast<double>(pruned->reclaimed)).c_str());
    for (const auto& e : pruned->failures) g.exit_code = report(e);
  });
}

}  // namespace berth::tool
