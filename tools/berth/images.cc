// berth images: the table of local images (podman's columns), or JSON.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "format.h"
#include "image/inspect.h"
#include "image/reference.h"

namespace berth::tool {

namespace {

struct Options {
  bool quiet = false, digests = false, all = false, no_trunc = false;
  std::string format;
  std::vector<std::string> filters;
};

// REPOSITORY and TAG of one name ("<none>" where it has none).
std::pair<std::string, std::string> repo_tag(const std::string& name) {
  auto ref = image::parse_reference(name);
  if (!ref) return {name, "<none>"};
  return {ref->name(), ref->tag.empty() ? "<none>" : ref->tag};
}

Result<> run(Globals& g, const Options& o) {
  BERTH_TRY_ASSIGN(store, open_store(g));
  BERTH_TRY_ASSIGN(filter, store.parse_filters(o.filters));
  BERTH_TRY_ASSIGN(all, store.list_images());
  std::vector<image::ImageSummary> images;
  for (auto& img : all)
    if (image::Store::matches(filter, img)) images.push_back(std::move(img));
  std::stable_sort(images.begin(), images.end(), [](const auto& a, const auto& b) { return a.created > b.created; });

  if (o.format == "json") {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& img : images) {
      const auto& r = img.record;
      nlohmann::json tags = nlohmann::json::array();
      for (const auto& n : r.names)
        if (n.find('@') == std::string::npos) tags.push_back(n);
      out.push_back(nlohmann::ordered_json{{"Id", hex_of(r.id)},
                     {"ParentId", ""},
                     {"RepoTags", tags},
                     {"RepoDigests", image::repo_digests(r)},
                     {"Names", r.names},
                     {"Digest", r.manifest_digest},
                     {"Size", img.unpacked_size},
                     {"VirtualSize", img.unpacked_size},
                     {"Created", img.created},
                     {"CreatedAt", r.created},
                     {"Containers", std::count(img.users.begin(), img.users.end(), "container")},
                     {"Dangling", r.names.empty()}});
    }
    std::puts(out.dump(4).c_str());
    return {};
  }
  if (!o.format.empty()) return error("unsupported --format \"{}\" (json)", o.format);

  if (o.quiet) {
    std::set<std::string> seen;
    for (const auto& img : images)
      if (seen.insert(img.record.id).second)
        std::puts((o.no_trunc ? img.record.id : short_id(img.record.id)).c_str());
    return {};
  }
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head{"REPOSITORY", "TAG"};
  if (o.digests) head.push_back("DIGEST");
  for (const char* h : {"IMAGE ID", "CREATED", "SIZE"}) head.push_back(h);
  rows.push_back(head);
  int64_t now = image::unix_now();
  for (const auto& img : images) {
    const auto& r = img.record;
    std::vector<std::string> names = r.names;
    if (names.empty()) names.push_back("");
    std::set<std::pair<std::string, std::string>> shown;
    for (const auto& n : names) {
      auto [repo, tag] = n.empty() ? std::pair<std::string, std::string>{"<none>", "<none>"} : repo_tag(n);
      // A repo@digest name adds no row when the repository has a tagged one.
      if (tag == "<none>" && std::any_of(shown.begin(), shown.end(), [&](auto& s) { return s.first == repo; }))
        continue;
      if (!shown.insert({repo, tag}).second) continue;
      std::vector<std::string> row{repo, tag};
      if (o.digests) row.push_back(r.manifest_digest);
      row.push_back(o.no_trunc ? r.id : short_id(r.id));
      row.push_back(human_age(img.created, now));
      row.push_back(human_size(img.unpacked_size));
      rows.push_back(std::move(row));
    }
  }
  print_table(rows);
  return {};
}

void add(CLI::App* cmd, Globals& g) {
  auto o = std::make_shared<Options>();
  cmd->add_flag("-q,--quiet", o->quiet, "print image ids only");
  cmd->add_flag("--digests", o->digests, "show manifest digests");
  cmd->add_flag("-a,--all", o->all, "show all images (intermediate images are never stored, so the same list)");
  cmd->add_flag("--no-trunc", o->no_trunc, "do not truncate image ids");
  cmd->add_option("--format", o->format, "output format: json");
  cmd->add_option("-f,--filter", o->filters, "reference=PATTERN, dangling=true|false, before=IMAGE, since=IMAGE");
  cmd->callback([&g, o]() { g.exit_code = check(run(g, *o)); });
}

}  // namespace

void add_images(CLI::App& app, Globals& g) {
  add(app.add_subcommand("images", "list local images"), g);
  add(group(app, "image", "manage images")->add_subcommand("ls", "list local images"), g);
}

}  // namespace berth::tool
