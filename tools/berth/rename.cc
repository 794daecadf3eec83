// berth rename CONTAINER NEW_NAME (refused while another container has the name).
#include "commands.h"
#include "engine/db.h"
#include "engine/paths.h"

namespace berth::tool {

void add_rename(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("rename", "rename a container");
  auto args = std::make_shared<std::vector<std::string>>();
  cmd->add_option("container name", *args, "the container, then its new name")->required()->expected(2);
  cmd->callback([&g, args]() {
    g.exit_code = check([&]() -> Result<> {
      BERTH_TRY_ASSIGN(db, engine::EngineDb::open(engine::Paths{g.root, g.runroot}.db()));
      return db.rename_container((*args)[0], (*args)[1]);
    }());
  });
}

}  // namespace berth::tool
