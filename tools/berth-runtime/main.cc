#include <unistd.h>

#include <cstdio>

#include "base/log.h"
#include "commands.h"
#include "runtime/rootless.h"
#include "runtime/seccomp.h"

namespace berth::tool {

int report(const Error& err) {
  log::error("{}", err.what());
  if (log::to_file()) std::fprintf(stderr, "berth-runtime: %s\n", err.what().c_str());
  return 1;
}

int check(const Result<>& r) { return r ? 0 : report(r.error()); }

}  // namespace berth::tool

int main(int argc, char** argv) {
  using namespace berth;
  tool::Globals g;
  g.argc = argc;
  g.argv = argv;

  CLI::App app{"berth-runtime: an OCI container runtime (runc-compatible command line)", "berth-runtime"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("-v,--version",
                       "berth-runtime version " BERTH_VERSION "\nspec: 1.2.0\nlibseccomp: " + runtime::libseccomp_version());
  app.add_option("--root", g.root,
                 "root directory for storage of container state (default: /run/berth-runtime; "
                 "$XDG_RUNTIME_DIR/berth-runtime when not run by root)");
  app.add_option("--log", g.log_path, "log file (default: stderr)");
  app.add_option("--log-format", g.log_format, "log format: text or json")->capture_default_str();
  app.add_flag("--debug", g.debug, "enable debug logging");
  app.add_flag("--systemd-cgroup", g.systemd_cgroup, "use systemd to manage cgroups (not available)");
  std::string ignored;
  app.add_option("--criu", g.criu, "path to criu (checkpoint/restore)")->capture_default_str();
  app.add_option("--rootless", ignored, "ignore cgroup permission errors: true, false or auto");

  tool::add_create(app, g);
  tool::add_start(app, g);
  tool::add_run(app, g);
  tool::add_state(app, g);
  tool::add_kill(app, g);
  tool::add_delete(app, g);
  tool::add_list(app, g);
  tool::add_spec(app, g);
  tool::add_update(app, g);
  tool::add_features(app, g);
  tool::add_exec(app, g);
  tool::add_checkpoint(app, g);
  tool::add_restore(app, g);
  tool::add_pause(app, g);
  tool::add_resume(app, g);
  tool::add_events(app, g);
  tool::add_ps(app, g);

  // Logging must be configured before any verb runs: parse the globals first.
  app.parse_complete_callback([&]() {
    auto format = log::parse_format(g.log_format);
    if (!format) throw CLI::ValidationError("--log-format", format.error().what());
    if (auto r = log::configure(g.log_path, *format, g.debug); !r)
      throw CLI::ValidationError("--log", r.error().what());
    if (g.systemd_cgroup)
      throw CLI::ValidationError("--systemd-cgroup", "the systemd cgroup driver is not available yet; use cgroupfs");
    // Verbs that keep no state need no root (and a rootless user may lack XDG_RUNTIME_DIR).
    bool stateless = false;
    for (const auto* sub : app.get_subcommands()) stateless = sub->get_name() == "spec" || sub->get_name() == "features";
    if (g.root.empty() && !stateless) {
      auto root = runtime::default_state_root();
      if (!root) throw CLI::ValidationError("--root", root.error().what());
      g.root = std::move(*root);
    }
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "berth-runtime: %s\n", e.what());
    if (!g.log_path.empty()) log::error("{}", e.what());
    return 1;
  }
  return g.exit_code;
}
