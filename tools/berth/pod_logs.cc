// berth pod logs [-c CTR] [-f] [--since T] [--until T] [-n N] [-t] [--names]
// POD: the pod's containers' output, each line after its container's short
// id (or name) when several are shown, as podman's.
#include <charconv>
#include <ctime>

#include "commands.h"
#include "engine/pod_logs.h"

namespace berth::tool {

void add_pod_logs(CLI::App& pod, Globals& g) {
  auto* cmd = pod.add_subcommand("logs", "show the output of a pod's containers");
  struct Args {
    std::string pod, container, since, until, tail = "all";
    bool follow = false, timestamps = false, names = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("-c,--container", a->container, "only this container of the pod (name or id)");
  cmd->add_flag("-f,--follow", a->follow, "keep printing new output until the containers exit");
  cmd->add_option("--since", a->since, "only output since this time (RFC 3339, unix seconds, or 10m ago)");
  cmd->add_option("--until", a->until, "only output before this time (same forms as --since)");
  cmd->add_option("--tail", a->tail, "only the last N lines of each container (\"all\": every line)")
      ->capture_default_str();
  cmd->add_flag("-t,--timestamps", a->timestamps, "show each line's time");
  cmd->add_flag("-n,--names", a->names, "prefix lines with container names instead of ids");
  cmd->add_option("pod", a->pod, "pod name or id")->required();
  cmd->callback([&g, a]() {
    g.exit_code = check([&]() -> Result<> {
      engine::PodLogOptions o;
      o.container = a->container;
      o.names = a->names;
      o.logs.follow = a->follow;
      o.logs.timestamps = a->timestamps;
      timespec now;
      ::clock_gettime(CLOCK_REALTIME, &now);
      int64_t now_ns = static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
      if (!a->since.empty()) {
        BERTH_TRY_ASSIGN(since, with_context(engine::parse_log_time(a->since, now_ns), "--since"));
        o.logs.since = since;
      }
      if (!a->until.empty()) {
        BERTH_TRY_ASSIGN(until, with_context(engine::parse_log_time(a->until, now_ns), "--until"));
        o.logs.until = until;
      }
      if (a->tail != "all") {
        size_t n = 0;
        auto [end, ec] = std::from_chars(a->tail.data(), a->tail.data() + a->tail.size(), n);
        if (ec != std::errc() || end != a->tail.data() + a->tail.size())
          return error("--tail: \"{}\" is not a number of lines or \"all\"", a->tail);
        o.logs.tail = n;
      }
      engine::Paths paths{g.root, g.runroot};
      BERTH_TRY_ASSIGN(db, engine::EngineDb::open(paths.db()));
      return engine::pod_logs(db, paths, a->pod, o, 1, 2);
    }());
  });
}

}  // namespace berth::tool
