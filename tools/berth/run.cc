// berth run [flags] IMAGE [COMMAND [ARG...]]: create + start; attached
// unless -d (which prints the id); the exit status is the container's
// (docker's 127/126 when its command is not found or cannot be executed).
#include <unistd.h>

#include <cstdio>

#include "base/log.h"
#include "commands.h"
#include "engine/command_failure.h"
#include "run_flags.h"

namespace berth::tool {

void add_run(CLI::App& app, Globals& g) {
  auto f = std::make_shared<RunFlags>();
  auto setup = [&g, f](CLI::App* cmd) {
    add_run_flags(cmd, *f);
    cmd->callback([&g, cmd, f]() {
      auto opts = run_options(*f, cmd->remaining());
      if (!opts) return void(g.exit_code = report(opts.error()));
      // podman's answer to -it without a terminal to read (docker refuses):
      // a warning, and the container gets its pty all the same.
      if (opts->tty && opts->interactive && ::isatty(0) != 1)
        log::warn("the input device is not a TTY: the --tty and --interactive flags might not work properly");
      auto pull = engine::parse_pull_policy(f->pull);
      if (!pull) return void(g.exit_code = report(pull.error()));
      auto engine = open_engine(g);
      if (!engine) return void(g.exit_code = report(engine.error()));
      std::string id;
      auto status = engine->run(*opts, *pull, &id);
      if (!status) {
        // The command itself could not run: docker's 127/126.
        int code = engine::command_failure_status(status.error());
        g.exit_code = report(status.error());
        if (code != 0) g.exit_code = code;
        return;
      }
      if (opts->detach) {
        std::printf("%s\n", id.c_str());
      } else {
        g.exit_code = status->value_or(0);
      }
    });
  };
  setup(app.add_subcommand("run", "run a command in a new container"));
  setup(group(app, "container", "manage containers")->add_subcommand("run", "run a command in a new container"));
}

}  // namespace berth::tool
