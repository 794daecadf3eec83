#include <cstdio>

#include "commands.h"
#include "image/push.h"

namespace berth::tool {

void add_logout(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("logout", "remove a registry's credentials from auth.json");
  struct Opts {
    std::string registry, authfile;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("registry", o->registry, "registry host[:port]")->required();
  cmd->add_option("--authfile", o->authfile, "auth file (default: podman's, $XDG_RUNTIME_DIR/containers/auth.json)");
  cmd->callback([&g, o]() {
    auto r = image::logout(o->registry, o->authfile);
    if (!r) {
      g.exit_code = report(r.error());
      return;
    }
    if (!*r) {
      g.exit_code = report(Error(0, fmt::format("not logged into {}", o->registry)));
      return;
    }
    std::printf("Removed login credentials for %s\n", o->registry.c_str());
  });
}

}  // namespace berth::tool
