// berth volume create/ls/inspect/rm/prune: named volumes, as podman's verbs
// (the same flags, table, JSON and exit statuses).
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "engine/db.h"
#include "engine/paths.h"
#include "engine/volumes.h"
#include "format.h"

namespace berth::tool {

namespace {

using engine::EngineDb;
using engine::Paths;

struct Env {
  Paths paths;
  EngineDb db;
};

Result<Env> open_env(const Globals& g) {
  Paths paths{g.root, g.runroot};
  BERTH_TRY_ASSIGN(db, EngineDb::open(paths.db()));
  return Env{std::move(paths), std::move(db)};
}

// KEY=VALUE (or KEY, an empty value) items of --label / --opt.
Result<std::map<std::string, std::string>> key_values(const std::vector<std::string>& items, const char* flag) {
  std::map<std::string, std::string> out;
  for (const auto& item : items) {
    auto eq = item.find('=');
    std::string key = item.substr(0, eq);
    if (key.empty()) return std::unexpected(Error(EINVAL, fmt::format("invalid {} \"{}\": KEY=VALUE expected", flag, item)));
    out[key] = eq == std::string::npos ? "" : item.substr(eq + 1);
  }
  return out;
}

struct CreateArgs {
  std::string name, driver = "local";
  std::vector<std::string> labels, options;
  bool ignore = false;
};

Result<> create(const Globals& g, const CreateArgs& a) {
  BERTH_TRY_ASSIGN(env, open_env(g));
  engine::VolumeRequest req{.name = a.name, .driver = a.driver};
  BERTH_TRY_ASSIGN(labels, key_values(a.labels, "--label"));
  BERTH_TRY_ASSIGN(options, key_values(a.options, "--opt"));
  req.labels = std::move(labels);
  req.options = std::move(options);
  auto v = engine::create_volume(env.db, env.paths, req);
  if (!v && v.error().code() == EEXIST && a.ignore) {
    std::puts(a.name.c_str());
    return {};
  }
  if (!v) return std::unexpected(std::move(v).error());
  std::puts(v->name.c_str());
  return {};
}

struct ListArgs {
  std::vector<std::string> filters;
  std::string format;
  bool quiet = false, noheading = false;
};

Result<> list(const Globals& g, const ListArgs& a) {
  if (!a.format.empty() && a.format != "json" && a.format != "table")
    return std::unexpected(Error(EINVAL, fmt::format("unsupported --format \"{}\" (json, table)", a.format)));
  BERTH_TRY_ASSIGN(filter, engine::parse_volume_filters(a.filters));
  BERTH_TRY_ASSIGN(env, open_env(g));
  BERTH_TRY_ASSIGN(volumes, engine::list_volumes(env.db, env.paths, filter));
  if (a.format == "json") {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& v : volumes) out.push_back(engine::volume_inspect_json(v));
    std::puts(out.dump(4).c_str());
    return {};
  }
  if (a.quiet) {
    for (const auto& v : volumes) std::puts(v.record.name.c_str());
    return {};
  }
  std::vector<std::vector<std::string>> rows;
  if (!a.noheading) rows.push_back({"DRIVER", "VOLUME NAME"});
  for (const auto& v : volumes) rows.push_back({v.record.driver, v.record.name});
  print_table(rows);
  return {};
}

int inspect(const Globals& g, const std::vector<std::string>& names, bool all, const std::string& format) {
  if (!format.empty() && format != "json")
    return report(Error(EINVAL, fmt::format("unsupported --format \"{}\" (json)", format)));
  if (names.empty() && !all) return report(Error(EINVAL, "volume inspect: no volume given (or --all)"));
  auto env = open_env(g);
  if (!env) return report(env.error());
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  int status = 0;
  if (all) {
    auto volumes = engine::list_volumes(env->db, env->paths);
    if (!volumes) return report(volumes.error());
    for (const auto& v : *volumes) out.push_back(engine::volume_inspect_json(v));
  }
  for (const auto& name : names) {
    auto v = engine::inspect_volume(env->db, env->paths, name);
    if (!v) {
      status = report(v.error());
      continue;
    }
    out.push_back(engine::volume_inspect_json(*v));
  }
  std::puts(out.dump(4).c_str());
  return status;
}

// Exit status as podman's: 1 when a volume was not found, 2 when one is in
// use, 125 for other failures.
int remove(const Globals& g, std::vector<std::string> names, bool force, bool all) {
  auto env = open_env(g);
  if (!env) return report(env.error());
  if (all) {
    auto volumes = env->db.volumes();
    if (!volumes) return report(volumes.error());
    for (const auto& v : *volumes) names.push_back(v.name);
  } else if (names.empty()) {
    return report(Error(EINVAL, "volume rm: no volume given (or --all)"));
  }
  // With -f the containers using a volume go first (podman's), through the
  // engine, opened only when one does.
  std::optional<engine::Engine> eng;
  auto remove_container = [&](const std::string& id) -> Result<> {
    if (!eng) {
      BERTH_TRY_ASSIGN(opened, open_engine(g));
      eng.emplace(std::move(opened));
    }
    return eng->remove(id, true, false);
  };
  int status = 0;
  for (const auto& name : names) {
    auto r = force ? engine::remove_volume_and_users(env->db, env->paths, name, remove_container)
                   : engine::remove_volume(env->db, env->paths, name, false);
    if (!r) {
      int code = r.error().code() == ENOENT ? 1 : r.error().code() == EBUSY ? 2 : 125;
      if (all && code == 1) continue;  // removed meanwhile by another berth
      report(r.error());
      status = std::max(status, code);
      continue;
    }
    std::puts(name.c_str());
  }
  return status;
}

Result<> prune(const Globals& g, const std::vector<std::string>& filters, bool force) {
  BERTH_TRY_ASSIGN(filter, engine::parse_volume_filters(filters));
  BERTH_TRY_ASSIGN(env, open_env(g));
  if (!force) {
    BERTH_TRY_ASSIGN(volumes, engine::list_volumes(env.db, env.paths, filter));
    std::printf("WARNING! This will remove all volumes not used by at least one container. The following volumes will be removed:\n");
    for (const auto& v : volumes)
      if (v.users.empty()) std::printf("%s\n", v.record.name.c_str());
    std::printf("Are you sure you want to continue? [y/N] ");
    std::fflush(stdout);
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "y" && answer != "Y" && answer != "yes") return {};
  }
  BERTH_TRY_ASSIGN(pruned, engine::prune_volumes(env.db, env.paths, filter));
  for (const auto& name : pruned) std::puts(name.c_str());
  return {};
}

}  // namespace

void add_volume(CLI::App& app, Globals& g) {
  auto* volume = group(app, "volume", "manage volumes");

  auto c = std::make_shared<CreateArgs>();
  auto* create_cmd = volume->add_subcommand("create", "create a volume");
  create_cmd->add_option("name", c->name, "volume name (default: a generated one)");
  create_cmd->add_option("-d,--driver", c->driver, "volume driver (local)");
  create_cmd->add_option("-l,--label", c->labels, "set a label KEY=VALUE")->allow_extra_args(false);
  create_cmd->add_option("-o,--opt", c->options, "driver option: type=, device=, o=")->allow_extra_args(false);
  create_cmd->add_flag("--ignore", c->ignore, "do nothing if the volume exists");
  create_cmd->callback([&g, c]() { g.exit_code = check(create(g, *c)); });

  auto l = std::make_shared<ListArgs>();
  auto* ls_cmd = volume->add_subcommand("ls", "list volumes");
  ls_cmd->alias("list");
  ls_cmd->add_option("-f,--filter", l->filters, "name=REGEX, label=KEY[=VALUE], dangling=true|false, driver=NAME")
      ->allow_extra_args(false);
  ls_cmd->add_option("--format", l->format, "output format: json or table");
  ls_cmd->add_flag("-q,--quiet", l->quiet, "print the names only");
  ls_cmd->add_flag("-n,--noheading", l->noheading, "no table heading");
  ls_cmd->callback([&g, l]() { g.exit_code = check(list(g, *l)); });

  auto names = std::make_shared<std::vector<std::string>>();
  auto all = std::make_shared<bool>(false);
  auto format = std::make_shared<std::string>();
  auto* inspect_cmd = volume->add_subcommand("inspect", "show volumes' details as JSON");
  inspect_cmd->add_option("volume", *names, "volume names");
  inspect_cmd->add_flag("-a,--all", *all, "inspect all volumes");
  inspect_cmd->add_option("-f,--format", *format, "output format: json");
  inspect_cmd->callback([&g, names, all, format]() { g.exit_code = inspect(g, *names, *all, *format); });

  auto rm_names = std::make_shared<std::vector<std::string>>();
  auto rm_force = std::make_shared<bool>(false);
  auto rm_all = std::make_shared<bool>(false);
  auto* rm_cmd = volume->add_subcommand("rm", "remove volumes");
  rm_cmd->alias("remove");
  rm_cmd->add_option("volume", *rm_names, "volume names");
  rm_cmd->add_flag("-f,--force", *rm_force, "remove the containers using them first (stopping running ones)");
  rm_cmd->add_flag("-a,--all", *rm_all, "remove all volumes");
  rm_cmd->callback([&g, rm_names, rm_force, rm_all]() { g.exit_code = remove(g, *rm_names, *rm_force, *rm_all); });

  auto prune_filters = std::make_shared<std::vector<std::string>>();
  auto prune_force = std::make_shared<bool>(false);
  auto* prune_cmd = volume->add_subcommand("prune", "remove all volumes no container uses");
  prune_cmd->add_option("--filter", *prune_filters, "label=KEY[=VALUE], name=REGEX")->allow_extra_args(false);
  prune_cmd->add_flag("-f,--force", *prune_force, "do not ask for confirmation");
  prune_cmd->callback([&g, prune_filters, prune_force]() { g.exit_code = check(prune(g, *prune_filters, *prune_force)); });
}

}  // namespace berth::tool
