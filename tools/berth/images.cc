// berth images: the table of local images (podman's columns), or JSON.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "format.h"
#include "go_template.h"
#include "image/inspect.h"
#include "image/reference.h"

namespace berth::tool {

namespace {

struct Options {
  bool quiet = false, digests = false, all = false, no_trunc = false;
  std::string format;
  std::vector<std::string> filters;
};

// The fields of --format templates, with their table headers (podman's).
const std::map<std::string, std::string> kFields = {
    {"Repository", "REPOSITORY"}, {"Tag", "TAG"},         {"ID", "IMAGE ID"},
    {"Digest", "DIGEST"},         {"Created", "CREATED"}, {"CreatedSince", "CREATED"},
    {"CreatedAt", "CREATED AT"},  {"Size", "SIZE"},       {"Names", "NAMES"},
};

// Go's time.Time.String() of a unix time, in UTC.
std::string go_time(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
  return buf;
}

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
  std::optional<GoTemplate> tmpl;
  if (!o.format.empty() && o.format != "table") {
    BERTH_TRY_ASSIGN(t, GoTemplate::parse(o.format, kFields));
    tmpl = std::move(t);
  }

  if (o.quiet) {
    std::set<std::string> seen;
    for (const auto& img : images)
      if (seen.insert(img.record.id).second)
        std::puts((o.no_trunc ? img.record.id : short_id(img.record.id)).c_str());
    return {};
  }
  // One row per repository:tag (podman's), "<none>" for a dangling image.
  struct Row {
    std::string repo, tag;
    const image::ImageSummary* image;
  };
  std::vector<Row> listed;
  for (const auto& img : images) {
    std::vector<std::string> names = img.record.names;
    if (names.empty()) names.push_back("");
    std::set<std::pair<std::string, std::string>> shown;
    for (const auto& n : names) {
      auto [repo, tag] = n.empty() ? std::pair<std::string, std::string>{"<none>", "<none>"} : repo_tag(n);
      // A repo@digest name adds no row when the repository has a tagged one.
      if (tag == "<none>" && std::any_of(shown.begin(), shown.end(), [&](auto& s) { return s.first == repo; }))
        continue;
      if (!shown.insert({repo, tag}).second) continue;
      listed.push_back({repo, tag, &img});
    }
  }
  int64_t now = image::unix_now();
  if (tmpl) {
    std::vector<std::string> rendered;
    for (const auto& row : listed) {
      const auto& r = row.image->record;
      rendered.push_back(tmpl->render([&](const std::string& field) -> std::string {
        if (field == "Repository") return row.repo;
        if (field == "Tag") return row.tag;
        if (field == "ID") return o.no_trunc ? r.id : short_id(r.id);
        if (field == "Digest") return r.manifest_digest;
        if (field == "Created" || field == "CreatedSince") return human_age(row.image->created, now);
        if (field == "CreatedAt") return go_time(row.image->created);
        if (field == "Size") return human_size(row.image->unpacked_size);
        return fmt::format("[{}]", fmt::join(r.names, " "));  // Names, as Go prints a []string
      }));
    }
    tmpl->print(rendered);
    return {};
  }
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head{"REPOSITORY", "TAG"};
  if (o.digests) head.push_back("DIGEST");
  for (const char* h : {"IMAGE ID", "CREATED", "SIZE"}) head.push_back(h);
  rows.push_back(head);
  for (const auto& row : listed) {
    const auto& r = row.image->record;
    std::vector<std::string> cells{row.repo, row.tag};
    if (o.digests) cells.push_back(r.manifest_digest);
    cells.push_back(o.no_trunc ? r.id : short_id(r.id));
    cells.push_back(human_age(row.image->created, now));
    cells.push_back(human_size(row.image->unpacked_size));
    rows.push_back(std::move(cells));
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
  cmd->add_option("--format", o->format,
                  "json, or a Go template of {{.Repository}} {{.Tag}} {{.ID}} {{.Digest}} {{.Created}} "
                  "{{.CreatedSince}} {{.CreatedAt}} {{.Size}} {{.Names}} (\"table ...\" adds headers)");
  cmd->add_option("-f,--filter", o->filters,
                  "reference=PATTERN, dangling=true|false, before=IMAGE, since=IMAGE, label=KEY[=VALUE]");
  cmd->callback([&g, o]() { g.exit_code = check(run(g, *o)); });
}

}  // namespace

void add_images(CLI::App& app, Globals& g) {
  add(app.add_subcommand("images", "list local images"), g);
  add(group(app, "image", "manage images")->add_subcommand("ls", "list local images"), g);
}

}  // namespace berth::tool
