// berth pod stats [--no-stream] [--format json] [POD...]: resource usage of
// the pods' running containers (every pod's when none is named), refreshed
// every second until interrupted, or once with --no-stream.
#include <unistd.h>

#include <cstdio>

#include "commands.h"
#include "engine/paths.h"
#include "engine/pod_stats.h"

namespace berth::tool {

namespace {

struct PodStatsFlags {
  bool no_stream = false;
  std::string format = "table";
  std::vector<std::string> pods;
};

Result<> run_pod_stats(const Globals& g, const PodStatsFlags& f) {
  BERTH_TRY_ASSIGN(db, engine::EngineDb::open(engine::Paths{g.root, g.runroot}.db()));
  BERTH_TRY_ASSIGN(memory, engine::host_memory_total());
  engine::PodStatsReader reader(db, memory);
  for (;;) {
    BERTH_TRY_ASSIGN(rows, reader.read(f.pods));
    std::string text = f.format == "json" ? engine::format_pod_stats_json(rows) : engine::format_pod_stats_table(rows);
    if (!f.no_stream && f.format != "json") std::fputs("\033[2J\033[H", stdout);  // a fresh screen, as podman
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
    if (f.no_stream) return {};
    ::sleep(1);
  }
}

}  // namespace

void add_pod_stats(CLI::App& pod, Globals& g) {
  auto* cmd = pod.add_subcommand("stats", "show the resource usage of pods' containers");
  auto f = std::make_shared<PodStatsFlags>();
  cmd->add_flag("--no-stream", f->no_stream, "print one reading and exit");
  cmd->add_option("--format", f->format, "table or json")->check(CLI::IsMember({"table", "json"}));
  cmd->add_option("pods", f->pods, "pods (default: every pod)");
  cmd->callback([&g, f]() { g.exit_code = check(run_pod_stats(g, *f)); });
}

}  // namespace berth::tool
