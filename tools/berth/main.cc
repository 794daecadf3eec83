#include <cstdio>
#include <string_view>
#include <utility>

#include "base/log.h"
#include "runtime/exe_guard.h"
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

// Every verb of berth, in the order `berth --help` lists them, by the words
// that name it: "run", or a group's "container run". Building a verb's
// options costs start-up time (CLI11 makes an object per option): only the
// verbs the command line names are built, all of them for help or an error.
constexpr std::pair<std::string_view, AddVerb> kVerbs[] = {
    {"run", add_run},
    {"create", add_create},
    {"start", add_start},
    {"stop", add_stop},
    {"kill", add_kill},
    {"restart", add_restart},
    {"rm", add_rm},
    {"ps", add_ps},
    {"inspect", add_inspect},
    {"wait", add_wait},
    {"container run", add_run},
    {"container create", add_create},
    {"container start", add_start},
    {"container stop", add_stop},
    {"container kill", add_kill},
    {"container restart", add_restart},
    {"container rm", add_rm},
    {"container ls", add_ps},
    {"container list", add_ps},
    {"container inspect", add_inspect},
    {"container wait", add_wait},
    {"container cleanup", add_container_cleanup},
    {"pod", add_pod},
    {"pull", add_pull},
    {"push", add_push},
    {"login", add_login},
    {"logout", add_logout},
    {"images", add_images},
    {"image ls", add_images},
    {"image inspect", add_image_inspect},
    {"tag", add_tag},
    {"rmi", add_rmi},
    {"image rm", add_rmi},
    {"save", add_save},
    {"load", add_load},
    {"import", add_import},
    {"system", add_system},
    {"logs", add_logs},
    {"attach", add_attach},
    {"cp", add_cp},
    {"stats", add_stats},
    {"rename", add_rename},
    {"port", add_port},
    {"network", add_network},
    {"volume", add_volume},
    {"exec", add_exec},
    {"container exec", add_exec},
    {"top", add_top},
    {"container top", add_top},
    {"pause", add_pause},
    {"container pause", add_pause},
    {"unpause", add_unpause},
    {"container unpause", add_unpause},
    {"container prune", add_container_prune},
};

// The first two words of the command line that are not global options.
std::pair<std::string_view, std::string_view> verb_of(int argc, char** argv) {
  static constexpr std::string_view kWithValue[] = {"--root", "--runroot", "--config", "--log-level"};
  std::string_view words[2];
  int n = 0;
  for (int i = 1; i < argc && n < 2; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("-")) {
      if (n > 0) break;  // the verb's own flags
      for (auto opt : kWithValue)
        if (arg == opt) ++i;
      continue;
    }
    words[n++] = arg;
  }
  return {words[0], words[1]};
}

// The builtin handler clones the container's processes from this one
// (create, exec, and the restarts of start/restart/cleanup/pod): like
// berth-runtime, re-execute from a read-only image of the binary first
// (exe_guard.h, CVE-2019-5736), so no process a container can see ever has
// the host's berth binary as its /proc/<pid>/exe.
bool enters_containers(std::string_view verb) {
  return verb == "run" || verb == "create" || verb == "start" || verb == "restart" || verb == "exec" ||
         verb == "pod" || verb == "container";
}

}  // namespace
}  // namespace berth::tool

// The re-execution runs before berth's own static constructors (priority
// 101 precedes unprioritised ones), so the image about to be replaced skips
// them: the validators CLI11 makes in every verb file, iostream's init.
// main() calls the guard again: free once protected, and an error here
// recurs there and is reported. glibc passes argc and argv to constructors.
__attribute__((constructor(101))) static void protect_exe_before_static_init(int argc, char** argv, char**) {
  using namespace berth;
  if (tool::enters_containers(tool::verb_of(argc, argv).first)) (void)runtime::ensure_protected_exe(argc, argv);
}

int main(int argc, char** argv) {
  using namespace berth;
  auto [first, second] = tool::verb_of(argc, argv);
  if (tool::enters_containers(first)) {
    if (auto r = runtime::ensure_protected_exe(argc, argv); !r) {
      std::fprintf(stderr, "berth: %s\n", r.error().what().c_str());
      return 125;
    }
  }
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
  std::string two = std::string(first) + " " + std::string(second);
  bool found = false;
  void (*added[std::size(tool::kVerbs)])(CLI::App&, tool::Globals&) = {};
  size_t n_added = 0;
  auto add_once = [&](auto add) {
    for (size_t i = 0; i < n_added; ++i)
      if (added[i] == add) return;
    added[n_added++] = add;
    add(app, g);
  };
  for (const auto& [name, add] : tool::kVerbs)
    if (name == first || name == two) {
      add_once(add);
      found = true;
    }
  // A group named alone ("berth container"): all its verbs, for its help.
  if (!found)
    for (const auto& [name, add] : tool::kVerbs)
      if (name.starts_with(std::string(first) + " ")) {
        add_once(add);
        found = true;
      }
  if (!found)
    for (const auto& [name, add] : tool::kVerbs) add_once(add);
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
