// berth tag IMAGE NAME...: more names for an image.
#include "commands.h"

namespace berth::tool {

void add_tag(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("tag", "add names to an image");
  auto args = std::make_shared<std::vector<std::string>>();
  cmd->add_option("image name", *args, "the image, then one or more new names")->required()->expected(2, -1);
  cmd->callback([&g, args]() {
    g.exit_code = check([&]() -> Result<> {
      BERTH_TRY_ASSIGN(store, open_store(g));
      for (size_t i = 1; i < args->size(); ++i) BERTH_TRY(store.tag((*args)[0], (*args)[i]));
      return {};
    }());
  });
}

}  // namespace berth::tool
