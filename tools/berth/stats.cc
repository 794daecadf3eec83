// berth stats [--no-stream] [--format json] [CONTAINER...]: resource usage of
// running containers (all of them when none is named), refreshed every
// second until interrupted, or once with --no-stream.
#include <unistd.h>

#include <cstdio>
#include <map>

#include "commands.h"
#include "engine/db.h"
#include "engine/paths.h"
#include "engine/stats.h"

namespace berth::tool {

namespace {

struct StatsFlags {
  bool no_stream = false;
  std::string format = "table";
  std::vector<std::string> containers;
};

bool has_init(const engine::ContainerRecord& c) {
  return c.pid > 0 && (c.state == engine::ContainerState::running || c.state == engine::ContainerState::paused);
}

Result<std::vector<engine::ContainerRecord>> chosen(engine::EngineDb& db, const StatsFlags& f) {
  std::vector<engine::ContainerRecord> out;
  if (f.containers.empty()) {
    BERTH_TRY_ASSIGN(all, db.containers());
    for (auto& c : all)
      if (has_init(c)) out.push_back(std::move(c));
    return out;
  }
  for (const auto& name : f.containers) {
    BERTH_TRY_ASSIGN(c, db.container(name));
    if (!has_init(c)) return error("container {} is not running", c.name);
    out.push_back(std::move(c));
  }
  return out;
}

Result<> run_stats(const Globals& g, const StatsFlags& f) {
  BERTH_TRY_ASSIGN(db, engine::EngineDb::open(engine::Paths{g.root, g.runroot}.db()));
  BERTH_TRY_ASSIGN(memory, engine::host_memory_total());
  std::map<std::string, engine::StatsSample> previous;
  for (;;) {
    BERTH_TRY_ASSIGN(containers, chosen(db, f));
    std::vector<engine::ContainerStats> rows;
    std::map<std::string, engine::StatsSample> current;
    for (const auto& c : containers) {
      auto sample = engine::sample_stats(c.pid);
      if (!sample) {
        if (!f.containers.empty()) return std::unexpected(std::move(sample).error().context(c.name));
        continue;  // exited meanwhile
      }
      auto prev = previous.find(c.id);
      auto row = engine::compute_stats(*sample, prev == previous.end() ? nullptr : &prev->second, c.started_at,
                                       memory);
      row.id = c.id;
      row.name = c.name;
      rows.push_back(std::move(row));
      current.emplace(c.id, std::move(*sample));
    }
    std::string text = f.format == "json" ? engine::format_stats_json(rows) : engine::format_stats_table(rows);
    if (!f.no_stream && f.format != "json") std::fputs("\033[2J\033[H", stdout);  // a fresh screen, as docker
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
    if (f.no_stream) return {};
    previous = std::move(current);
    ::sleep(1);
  }
}

}  // namespace

void add_stats(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("stats", "show containers' resource usage");
  auto f = std::make_shared<StatsFlags>();
  cmd->add_flag("--no-stream", f->no_stream, "print one reading and exit");
  cmd->add_option("--format", f->format, "table or json")->check(CLI::IsMember({"table", "json"}));
  cmd->add_option("containers", f->containers, "containers (default: every running one)");
  cmd->callback([&g, f]() { g.exit_code = check(run_stats(g, *f)); });
}

}  // namespace berth::tool
