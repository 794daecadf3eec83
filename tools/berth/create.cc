// berth create [flags] IMAGE [COMMAND [ARG...]]: a container left created; prints its id.
#include <cstdio>

#include "commands.h"
#include "run_flags.h"

namespace berth::tool {

void add_create(CLI::App& app, Globals& g) {
  auto f = std::make_shared<RunFlags>();
  auto setup = [&g, f](CLI::App* cmd) {
    add_run_flags(cmd, *f);
    cmd->callback([&g, cmd, f]() {
      auto opts = run_options(*f, cmd->remaining());
      if (!opts) return void(g.exit_code = report(opts.error()));
      auto pull = engine::parse_pull_policy(f->pull);
      if (!pull) return void(g.exit_code = report(pull.error()));
      auto engine = open_engine(g);
      if (!engine) return void(g.exit_code = report(engine.error()));
      auto c = engine->create(*opts, *pull);
      if (!c) return void(g.exit_code = report(c.error()));
      std::printf("%s\n", c->id.c_str());
    });
  };
  setup(app.add_subcommand("create", "create a new container"));
  setup(group(app, "container", "manage containers")->add_subcommand("create", "create a new container"));
}

}  // namespace berth::tool
