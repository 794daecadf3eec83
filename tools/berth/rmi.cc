// berth rmi [-f] [-a] IMAGE...: untag or remove images, then collect what
// only they used. Exit status as podman's: 1 when an image was not found,
// 2 when one is in use, 125 for other failures.
#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "commands.h"
#include "format.h"

namespace berth::tool {

namespace {

int run(Globals& g, std::vector<std::string> refs, bool force, bool all) {
  auto store = open_store(g);
  if (!store) return report(store.error());
  int status = 0;
  if (all) {
    // Every image with all its names; one in use only with --force.
    auto images = store->metadata().list_images();
    if (!images) return report(images.error());
    auto in_use = store->images_in_use();
    if (!in_use) return report(in_use.error());
    for (const auto& img : *images) {
      auto user = std::find_if(in_use->begin(), in_use->end(), [&](const auto& u) { return u.first == img.id; });
      if (user != in_use->end() && !force) {
        report(Error(EBUSY, fmt::format("image {} is in use by a {}", hex_of(img.id), user->second)));
        status = 2;
        continue;
      }
      refs.push_back(img.id);
    }
  } else if (refs.empty()) {
    return report(Error(EINVAL, "rmi: no image given (or --all)"));
  }
  for (const auto& ref : refs) {
    auto r = store->remove_image(ref, force || all);
    if (!r) {
      int code = r.error().code() == ENOENT ? 1 : r.error().code() == EBUSY ? 2 : 125;
      // --all skips images that vanished meanwhile (another rmi).
      if (all && code == 1) continue;
      report(r.error());
      status = std::max(status, code);
      continue;
    }
    for (const auto& n : r->untagged) std::printf("Untagged: %s\n", n.c_str());
    if (!r->deleted.empty()) std::printf("Deleted: %s\n", hex_of(r->deleted).c_str());
  }
  if (auto gc = store->gc(); !gc) return std::max(status, report(gc.error()));
  return status;
}

}  // namespace

void add_rmi(CLI::App& app, Globals& g) {
  auto refs = std::make_shared<std::vector<std::string>>();
  auto force = std::make_shared<bool>(false);
  auto all = std::make_shared<bool>(false);
  auto setup = [&g, refs, force, all](CLI::App* cmd) {
    cmd->add_option("image", *refs, "image names, ids or digests");
    cmd->add_flag("-f,--force", *force, "remove images even when in use, and ids with several names");
    cmd->add_flag("-a,--all", *all, "remove all images");
    cmd->callback([&g, refs, force, all]() { g.exit_code = run(g, *refs, *force, *all); });
  };
  setup(app.add_subcommand("rmi", "remove images"));
  setup(group(app, "image", "manage images")->add_subcommand("rm", "remove images"));
}

}  // namespace berth::tool
