// berth inspect [--type container|image] NAME...: containers (then images,
// as podman's plain inspect) as a JSON array.
#include <cstdio>

#include "commands.h"
#include "image/inspect.h"

namespace berth::tool {
namespace {

struct Opts {
  std::vector<std::string> names;
  std::string type = "all";
  std::string format;
};

Result<nlohmann::ordered_json> inspect_image(Globals& g, const std::string& name) {
  BERTH_TRY_ASSIGN(store, open_store(g));
  BERTH_TRY_ASSIGN(img, store.find_image(name));
  BERTH_TRY_ASSIGN(all, store.list_images());
  for (const auto& s : all)
    if (s.record.id == img.id) return image::inspect_image(store, s);
  return std::unexpected(Error(ENOENT, fmt::format("no such image: {}", name)));
}

Result<> run(Globals& g, const Opts& o) {
  if (!o.format.empty() && o.format != "json") return error("unsupported --format \"{}\" (json)", o.format);
  BERTH_TRY_ASSIGN(e, open_engine(g));
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  bool failed = false;
  for (const auto& name : o.names) {
    Result<nlohmann::ordered_json> doc = std::unexpected(Error(ENOENT, ""));
    if (o.type != "image") doc = e.inspect(name);
    if (!doc && doc.error().code() == ENOENT && o.type != "container") doc = inspect_image(g, name);
    if (!doc) {
      std::string what = o.type == "container" ? "container" : o.type == "image" ? "image" : "object";
      std::fprintf(stderr, "berth: no such %s: %s\n", what.c_str(), name.c_str());
      failed = true;
      continue;
    }
    out.push_back(std::move(*doc));
  }
  std::puts(out.dump(4).c_str());
  if (failed) return std::unexpected(Error(ENOENT, "some objects could not be inspected"));
  return {};
}

}  // namespace

void add_inspect(CLI::App& app, Globals& g) {
  auto o = std::make_shared<Opts>();
  auto setup = [&g, o](CLI::App* cmd, bool containers_only) {
    cmd->add_option("name", o->names, "container or image names or ids")->required();
    if (!containers_only)
      cmd->add_option("-t,--type", o->type, "container, image or all")
          ->check(CLI::IsMember({"container", "image", "all"}));
    cmd->add_option("-f,--format", o->format, "output format: json");
    cmd->callback([&g, o, containers_only]() {
      if (containers_only) o->type = "container";
      g.exit_code = check(run(g, *o));
    });
  };
  setup(app.add_subcommand("inspect", "show containers' or images' details as JSON"), false);
  setup(group(app, "container", "manage containers")->add_subcommand("inspect", "show containers' details as JSON"),
        true);
}

}  // namespace berth::tool
