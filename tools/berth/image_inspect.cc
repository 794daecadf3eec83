// berth image inspect IMAGE...: a JSON array, one object per image.
#include <cstdio>

#include "commands.h"
#include "image/inspect.h"

namespace berth::tool {

namespace {

Result<> run(Globals& g, const std::vector<std::string>& refs, const std::string& format) {
  if (!format.empty() && format != "json") return error("unsupported --format \"{}\" (json)", format);
  BERTH_TRY_ASSIGN(store, open_store(g));
  BERTH_TRY_ASSIGN(all, store.list_images());
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  std::optional<Error> failed;
  for (const auto& ref : refs) {
    auto img = store.find_image(ref);
    if (!img) {
      // Like podman: inspect what can be found, fail at the end.
      std::fprintf(stderr, "berth: %s\n", img.error().what().c_str());
      failed = img.error();
      continue;
    }
    auto it = std::find_if(all.begin(), all.end(), [&](const auto& s) { return s.record.id == img->id; });
    if (it == all.end()) continue;
    BERTH_TRY_ASSIGN(json, image::inspect_image(store, *it));
    out.push_back(std::move(json));
  }
  std::puts(out.dump(4).c_str());
  if (failed) return std::unexpected(Error(failed->code(), "some images could not be inspected"));
  return {};
}

}  // namespace

void add_image_inspect(CLI::App& app, Globals& g) {
  auto* cmd = group(app, "image", "manage images")->add_subcommand("inspect", "show an image's details as JSON");
  auto refs = std::make_shared<std::vector<std::string>>();
  auto format = std::make_shared<std::string>();
  cmd->add_option("image", *refs, "image name, id or digest")->required();
  cmd->add_option("-f,--format", *format, "output format: json");
  cmd->callback([&g, refs, format]() { g.exit_code = check(run(g, *refs, *format)); });
}

}  // namespace berth::tool
