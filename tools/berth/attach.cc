// berth attach [--no-stdin] [--detach-keys K] CONTAINER: the terminal joins
// a running container's stdio through its monitor, until it exits (its exit
// status is ours) or the detach keys are typed.
#include "commands.h"
#include "engine/attach.h"
#include "engine/db.h"
#include "engine/paths.h"

namespace berth::tool {

void add_attach(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("attach", "attach to a running container's input and output");
  struct Args {
    std::string container, detach_keys = "ctrl-p,ctrl-q";
    bool no_stdin = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_flag("--no-stdin", a->no_stdin, "do not pass our input to the container");
  cmd->add_option("--detach-keys", a->detach_keys, "keys that detach (\"\": none)")->capture_default_str();
  cmd->add_option("container", a->container, "container name or id")->required();
  cmd->callback([&g, a]() {
    auto code = [&]() -> Result<std::optional<int>> {
      engine::Paths paths{g.root, g.runroot};
      BERTH_TRY_ASSIGN(db, engine::EngineDb::open(paths.db()));
      BERTH_TRY_ASSIGN(c, db.container(a->container));
      if (c.state != engine::ContainerState::running && c.state != engine::ContainerState::paused)
        return error("container {} is not running (it is {}): start it first", c.name, engine::state_name(c.state));
      engine::AttachOptions o;
      o.stdin_open = c.options.interactive && !a->no_stdin;
      o.tty = c.options.tty;
      o.detach_keys = a->detach_keys;
      BERTH_TRY_ASSIGN(attachment, engine::Attachment::connect(paths.run_dir(c.id), o));
      return attachment.relay();
    }();
    if (!code) {
      g.exit_code = report(code.error());
    } else {
      g.exit_code = code->value_or(0);  // detached: success
    }
  });
}

}  // namespace berth::tool
