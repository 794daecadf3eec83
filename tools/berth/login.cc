#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "commands.h"
#include "image/push.h"

namespace berth::tool {

void add_login(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("login", "log in to a registry (credentials checked, then stored in auth.json)");
  struct Opts {
    std::string registry, username, password, authfile;
    bool password_stdin = false;
    std::optional<bool> tls_verify;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("registry", o->registry, "registry host[:port]")->required();
  cmd->add_option("-u,--username", o->username, "user name");
  cmd->add_option("-p,--password", o->password, "password");
  cmd->add_flag("--password-stdin", o->password_stdin, "read the password from stdin");
  cmd->add_option("--authfile", o->authfile, "auth file (default: podman's, $XDG_RUNTIME_DIR/containers/auth.json)");
  cmd->add_option("--tls-verify", o->tls_verify, "require HTTPS and verify certificates (default true)");
  cmd->callback([&g, o]() {
    if (o->password_stdin) {
      std::getline(std::cin, o->password);
      while (!o->password.empty() && (o->password.back() == '\n' || o->password.back() == '\r'))
        o->password.pop_back();
    }
    if (o->username.empty() || o->password.empty()) {
      g.exit_code = report(Error(0, "login: --username and --password (or --password-stdin) are required"));
      return;
    }
    auto config = load_config(g);
    if (!config) {
      g.exit_code = report(config.error());
      return;
    }
    image::RegistryOptions opts;
    opts.config = std::move(*config);
    opts.tls_verify = o->tls_verify;
    auto r = image::login(o->registry, image::Credentials{o->username, o->password, {}}, opts, o->authfile);
    if (!r) {
      g.exit_code = report(r.error());
      return;
    }
    std::printf("Login Succeeded!\n");
  });
}

}  // namespace berth::tool
