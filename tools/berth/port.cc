// berth port CONTAINER [PRIVATE_PORT[/PROTO]]: the container's published ports.
#include <cstdio>

#include "commands.h"
#include "engine/db.h"
#include "engine/paths.h"
#include "engine/port_listing.h"

namespace berth::tool {

void add_port(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("port", "list a container's port mappings, or the host address of one port");
  auto container = std::make_shared<std::string>();
  auto private_port = std::make_shared<std::string>();
  cmd->add_option("container", *container, "the container")->required();
  cmd->add_option("private_port", *private_port, "PORT[/PROTO] (tcp when not given)");
  cmd->callback([&g, container, private_port]() {
    g.exit_code = check([&]() -> Result<> {
      std::optional<engine::PortQuery> query;
      if (!private_port->empty()) {
        BERTH_TRY_ASSIGN(q, engine::parse_port_query(*private_port));
        query = q;
      }
      BERTH_TRY_ASSIGN(db, engine::EngineDb::open(engine::Paths{g.root, g.runroot}.db()));
      BERTH_TRY_ASSIGN(c, db.container(*container));
      BERTH_TRY_ASSIGN(text, engine::format_ports(c.ports, query, c.name));
      std::fputs(text.c_str(), stdout);
      return {};
    }());
  });
}

}  // namespace berth::tool
