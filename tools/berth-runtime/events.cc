#include <cstdio>

#include "commands.h"
#include "runtime/events.h"

namespace berth::tool {

void add_events(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("events", "print a container's resource usage and OOM events as JSON");
  struct Args {
    std::string id, interval = "5s";
    bool stats = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("id", a->id, "container id")->required();
  cmd->add_option("--interval", a->interval, "time between stats events (Go duration)")->capture_default_str();
  cmd->add_flag("--stats", a->stats, "print the stats once, then exit");
  cmd->callback([&g, a]() {
    auto interval = runtime::parse_duration(a->interval);
    if (!interval) {
      g.exit_code = report(interval.error());
      return;
    }
    runtime::EventsOptions opts{.interval = *interval, .stats_only = a->stats};
    g.exit_code = check(runtime::stream_events(runtime::Runtime(g.root), a->id, opts, [](std::string_view line) {
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fputc('\n', stdout);
      std::fflush(stdout);
    }));
  });
}

}  // namespace berth::tool
