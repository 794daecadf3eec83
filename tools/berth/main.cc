#include <cstdio>

#include "base/log.h"
#include "commands.h"

namespace berth::tool {

int report(const Error& err) {
  std::fprintf(stderr, "berth: %s\n", err.what().c_str());
  return 125;
}

int check(const Result<>& r) { return r ? 0 : report(r.error()); }

Result<image::Config> load_config(const Globals& g) {
  return image::load_config_default(g.config_path.empty() ? std::nullopt : std::optional(g.config_path));
}

namespace {

using AddVerb = void (*)(CLI::App&, Globals&);

// Every verb of berth, in the order `berth --help` lists them.
constexpr AddVerb kVerbs[] = {
    add_pull,
    add_push,
    add_login,
    add_logout,
    add_images,
    add_image_inspect,
    add_tag,
    add_rmi,
    add_save,
    add_load,
    add_import,
    add_system,
    add_logs,
    add_attach,
    add_cp,
    add_stats,
    add_rename,
    add_port,
    add_network,
    add_volume,
};

}  // namespace
}  // namespace berth::tool

int main(int argc, char** argv) {
  using namespace berth;
  tool::Globals g;
  CLI::App app{"berth: a daemonless container engine", "berth"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("-v,--version", "berth version " BERTH_VERSION);
  app.add_option("--root", g.root, "storage root directory")->capture_default_str();
  app.add_option("--runroot", g.runroot, "run state directory")->capture_default_str();
  app.add_option("--config", g.config_path, "berth.toml (default: $BERTH_CONFIG or /etc/berth/berth.toml)");
  app.add_option("--log-level", g.log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();
  for (auto add : tool::kVerbs) add(app, g);
  app.parse_complete_callback([&]() {
    if (auto r = log::configure("", log::Format::text, g.log_level == "debug"); !r)
      throw CLI::ValidationError("--log-level", r.error().what());
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "berth: %s\n", e.what());
    return 125;
  }
  return g.exit_code;
}
