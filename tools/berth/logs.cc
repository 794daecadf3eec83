// berth logs [-f] [--since T] [--until T] [-n N] [-t] CONTAINER: the
// container's output from its log (CRI format, rotated files included).
#include <charconv>
#include <ctime>

#include "commands.h"
#include "engine/db.h"
#include "engine/logs.h"
#include "engine/paths.h"

namespace berth::tool {

void add_logs(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("logs", "show a container's output");
  struct Args {
    std::string container, since, until, tail = "all";
    bool follow = false, timestamps = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_flag("-f,--follow", a->follow, "keep printing new output until the container exits");
  cmd->add_option("--since", a->since, "only output since this time (RFC 3339, unix seconds, or 10m ago)");
  cmd->add_option("--until", a->until, "only output before this time (same forms as --since)");
  cmd->add_option("-n,--tail", a->tail, "only the last N lines (\"all\": every line)")->capture_default_str();
  cmd->add_flag("-t,--timestamps", a->timestamps, "show each line's time");
  cmd->add_option("container", a->container, "container name or id")->required();
  cmd->callback([&g, a]() {
    g.exit_code = check([&]() -> Result<> {
      engine::LogOptions o;
      o.timestamps = a->timestamps;
      timespec now;
      ::clock_gettime(CLOCK_REALTIME, &now);
      int64_t now_ns = static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
      if (!a->since.empty()) {
        BERTH_TRY_ASSIGN(since, with_context(engine::parse_log_time(a->since, now_ns), "--since"));
        o.since = since;
      }
      if (!a->until.empty()) {
        BERTH_TRY_ASSIGN(until, with_context(engine::parse_log_time(a->until, now_ns), "--until"));
        o.until = until;
      }
      if (a->tail != "all") {
        size_t n = 0;
        auto [end, ec] = std::from_chars(a->tail.data(), a->tail.data() + a->tail.size(), n);
        if (ec != std::errc() || end != a->tail.data() + a->tail.size())
          return error("--tail: \"{}\" is not a number of lines or \"all\"", a->tail);
        o.tail = n;
      }
      engine::Paths paths{g.root, g.runroot};
      BERTH_TRY_ASSIGN(db, engine::EngineDb::open(paths.db()));
      BERTH_TRY_ASSIGN(c, db.container(a->container));
      // Only a running container has more output to wait for.
      o.follow = a->follow && (c.state == engine::ContainerState::running || c.state == engine::ContainerState::paused);
      return engine::read_logs(paths.log_file(c.id), paths.run_dir(c.id), o, 1, 2);
    }());
  });
}

}  // namespace berth::tool
