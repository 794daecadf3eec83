#include "engine/pod_top.h"

#include <fmt/format.h>

#include "engine/engine.h"
#include "engine/pods.h"
#include "runtime/ps.h"

namespace berth::engine {

Result<std::string> pod_top(Engine& engine, std::string_view name, const std::vector<std::string>& ps_args) {
  Pods pods = engine.pods();
  BERTH_TRY_ASSIGN(pod, pods.inspect(name));
  BERTH_TRY_ASSIGN(containers, pods.containers(pod));
  std::vector<pid_t> pids;
  bool any = false;
  for (const auto& c : containers) {
    if (c.state != ContainerState::running && c.state != ContainerState::paused) continue;
    BERTH_TRY_ASSIGN(handler, engine.handler(c.runtime));
    auto found = handler->processes(c.id);
    if (!found && found.error().code() == ENOENT) continue;  // exited meanwhile
    if (!found) return std::unexpected(std::move(found).error().context(fmt::format("processes of {}", c.name)));
    any = true;
    pids.insert(pids.end(), found->begin(), found->end());
  }
  if (!any) return std::unexpected(Error(EINVAL, fmt::format("pod \"{}\" is not running", pod.name)));
  // One ps for all: the rows of every container in one table under one header.
  BERTH_TRY_ASSIGN(output, runtime::run_ps(ps_args.empty() ? std::vector<std::string>{"-ef"} : ps_args));
  return runtime::filter_ps_output(output, pids);
}

}  // namespace berth::engine
