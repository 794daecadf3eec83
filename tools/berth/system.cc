// berth system df | prune [-a] [-f] | check [--repair]
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "format.h"

namespace berth::tool {

namespace {

std::string percent(uint64_t part, uint64_t whole) {
  return fmt::format("({}%)", whole ? part * 100 / whole : 0);
}

Result<> df(Globals& g, const std::string& format) {
  BERTH_TRY_ASSIGN(store, open_store(g));
  BERTH_TRY_ASSIGN(du, store.disk_usage());
  if (format == "json") {
    nlohmann::json out = {{"Images", {{"Total", du.images.total},
                                      {"Active", du.images.active},
                                      {"Size", du.images.size},
                                      {"Reclaimable", du.images.reclaimable}}},
                          {"Content", {{"Blobs", du.blobs}, {"Size", du.content_bytes}, {"Ingest", du.ingest_bytes}}},
                          {"Snapshots", {{"Total", du.snapshots}, {"Size", du.snapshot_bytes}}}};
    std::puts(out.dump(4).c_str());
    return {};
  }
  if (!format.empty()) return error("unsupported --format \"{}\" (json)", format);
  print_table({{"TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"},
               {"Images", std::to_string(du.images.total), std::to_string(du.images.active),
                human_size(static_cast<int64_t>(du.images.size)),
                human_size(static_cast<int64_t>(du.images.reclaimable)) + " " +
                    percent(du.images.reclaimable, du.images.size)}});
  return {};
}

Result<> prune(Globals& g, bool all, bool force) {
  if (!force && ::isatty(STDIN_FILENO)) {
    std::printf("WARNING! This removes %s images not used by a container, and all unreferenced content.\n"
                "Are you sure you want to continue? [y/N] ",
                all ? "all" : "dangling");
    std::fflush(stdout);
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "y" && answer != "Y" && answer != "yes") return {};
  }
  BERTH_TRY_ASSIGN(store, open_store(g));
  BERTH_TRY_ASSIGN(images, store.list_images());
  std::vector<std::string> deleted;
  for (const auto& img : images) {
    if (!img.users.empty()) continue;  // leased: in use by a container or a pull
    if (!all && !img.record.names.empty()) continue;
    auto r = store.metadata().remove_image(img.record.id, false, image::unix_now());
    if (!r && r.error().code() != ENOENT && r.error().code() != EBUSY) return std::unexpected(r.error());
    if (r) deleted.push_back(img.record.id);
  }
  BERTH_TRY_ASSIGN(gc, store.gc());
  if (!deleted.empty()) {
    std::puts("Deleted Images");
    for (const auto& id : deleted) std::puts(hex_of(id).c_str());
  }
  std::printf("Total reclaimed space: %s\n", human_size(static_cast<int64_t>(gc.bytes)).c_str());
  return {};
}

int run_check(Globals& g, bool repair) {
  auto store = open_store(g);
  if (!store) return report(store.error());
  auto r = store->check(repair);
  if (!r) return report(r.error());
  int unrepaired = 0;
  for (const auto& p : r->problems) {
    std::printf("%s %s: %s%s\n", p.kind.c_str(), p.object.c_str(), p.detail.c_str(), p.repaired ? " (removed)" : "");
    unrepaired += p.repaired ? 0 : 1;
  }
  std::printf("checked %zu blobs, %zu snapshots, %zu images: %zu problems%s\n", r->blobs_checked,
              r->snapshots_checked, r->images_checked, r->problems.size(),
              r->problems.empty() ? "" : repair ? ", repaired" : " (run with --repair to remove what is broken)");
  if (repair && !r->problems.empty()) {
    if (auto gc = store->gc(); !gc) return report(gc.error());
  }
  return unrepaired ? 1 : 0;
}

}  // namespace

void add_system(CLI::App& app, Globals& g) {
  auto* sys = group(app, "system", "manage the store");

  auto* dfc = sys->add_subcommand("df", "show disk usage of the store");
  auto format = std::make_shared<std::string>();
  dfc->add_option("--format", *format, "output format: json");
  dfc->callback([&g, format]() { g.exit_code = check(df(g, *format)); });

  auto* pr = sys->add_subcommand("prune", "remove unused images and unreferenced content");
  auto all = std::make_shared<bool>(false);
  auto force = std::make_shared<bool>(false);
  pr->add_flag("-a,--all", *all, "remove all images no container uses, not only dangling ones");
  pr->add_flag("-f,--force", *force, "do not ask for confirmation");
  pr->callback([&g, all, force]() { g.exit_code = check(prune(g, *all, *force)); });

  auto* ck = sys->add_subcommand("check", "verify every blob and snapshot of the store");
  auto repair = std::make_shared<bool>(false);
  ck->add_flag("--repair", *repair, "remove what is broken and the images that need it");
  ck->callback([&g, repair]() { g.exit_code = run_check(g, *repair); });
}

}  // namespace berth::tool
