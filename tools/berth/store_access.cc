// What the image verbs share: the store under --root and the verb groups.
#include "commands.h"

namespace berth::tool {

Result<image::Store> open_store(const Globals& g) { return image::Store::open(g.root); }

CLI::App* group(CLI::App& app, const std::string& name, const std::string& description) {
  for (auto* sub : app.get_subcommands([](CLI::App*) { return true; }))
    if (sub->get_name() == name) return sub;
  auto* cmd = app.add_subcommand(name, description);
  cmd->require_subcommand(1);
  return cmd;
}

}  // namespace berth::tool
