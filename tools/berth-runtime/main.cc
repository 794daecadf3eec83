#include <unistd.h>

#include <cstdio>
#include <string_view>
#include <utility>

#include "base/log.h"
#include "commands.h"
#include "runtime/exe_guard.h"
#include "runtime/rootless.h"
#include "runtime/seccomp.h"

namespace berth::tool {

int report(const Error& err) {
  log::error("{}", err.what());
  if (log::to_file()) std::fprintf(stderr, "berth-runtime: %s\n", err.what().c_str());
  return 1;
}

int check(const Result<>& r) { return r ? 0 : report(r.error()); }

std::string_view verb_of(int argc, char** argv) {
  // Global options that take a value in the next argument (without "=").
  static constexpr std::string_view kWithValue[] = {"--root", "--log", "--log-format", "--criu", "--rootless"};
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (!arg.starts_with("-")) return arg;
    for (auto opt : kWithValue)
      if (arg == opt) ++i;
  }
  return {};
}

}  // namespace berth::tool

// Verbs that enter a container re-execute from a read-only image of the
// runtime (exe_guard.h) first. This runs before the other static
// constructors (priority 101 comes before unprioritised ones), so the image
// about to be replaced skips the C++ start-up: iostream's locale and the
// validators CLI11 makes in every file that includes it (0.3-0.4 ms). The
// verbs' callbacks call the guard again: free once protected, and an error
// here recurs there, reported and logged. glibc passes argc and argv to
// constructors.
__attribute__((constructor(101))) static void protect_exe_before_static_init(int argc, char** argv, char**) {
  using namespace berth;
  std::string_view verb = tool::verb_of(argc, argv);
  if (verb == "create" || verb == "run" || verb == "exec" || verb == "restore")
    (void)runtime::ensure_protected_exe(argc, argv);
}

int main(int argc, char** argv) {
  using namespace berth;
  tool::Globals g;
  g.argc = argc;
  g.argv = argv;
  std::string_view verb = tool::verb_of(argc, argv);
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

  // Building a verb's options costs time and memory on every call (CLI11 makes
  // an object per option): only the verb named on the command line is built,
  // all of them when none is recognised (help, or an error listing them).
  static constexpr std::pair<std::string_view, void (*)(CLI::App&, tool::Globals&)> kVerbs[] = {
      {"create", tool::add_create},   {"start", tool::add_start},     {"run", tool::add_run},
      {"state", tool::add_state},     {"kill", tool::add_kill},       {"delete", tool::add_delete},
      {"list", tool::add_list},       {"spec", tool::add_spec},       {"update", tool::add_update},
      {"features", tool::add_features}, {"exec", tool::add_exec},   {"checkpoint", tool::add_checkpoint},
      {"restore", tool::add_restore}, {"pause", tool::add_pause},     {"resume", tool::add_resume},
      {"events", tool::add_events},   {"ps", tool::add_ps},
  };
  bool found = false;
  for (const auto& [name, add] : kVerbs)
    if (name == verb) {
      add(app, g);
      found = true;
    }
  if (!found)
    for (const auto& [name, add] : kVerbs) add(app, g);

  // Logging must be configured before any verb runs: parse the globals first.
  bool log_configured = false;
  app.parse_complete_callback([&]() {
    auto format = log::parse_format(g.log_format);
    if (!format) throw CLI::ValidationError("--log-format", format.error().what());
    if (auto r = log::configure(g.log_path, *format, g.debug); !r)
      throw CLI::ValidationError("--log", r.error().what());
    log_configured = true;
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
    // A command line error may come before the log is configured (or from
    // configuring it): set it up as asked where it can be, so that the error
    // is written once, in the log's format, as every other error.
    if (!log_configured) {
      auto format = log::parse_format(g.log_format);
      (void)log::configure(g.log_path, format ? *format : log::Format::text, g.debug);
    }
    return tool::report(Error(0, e.what()));
  }
  return g.exit_code;
}
