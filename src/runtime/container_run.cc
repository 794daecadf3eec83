// `run`: create + start, then (in the foreground) wait for the container's
// process, forwarding signals and serving its terminal, and delete it.
#include <algorithm>
#include <optional>

#include "base/log.h"
#include "runtime/container.h"
#include "runtime/launch.h"
#include "runtime/supervise.h"

namespace berth::runtime {

Result<int> Runtime::run(const CreateOptions& opts, bool detach) {
  // No exec fifo: this process starts what it creates (start_init).
  BERTH_TRY_ASSIGN(c, launch(store_, opts, !detach, true));
  const std::string& id = opts.id;

  // Signals are blocked from here on and read from a signalfd; the container
  // process already reset its own mask.
  std::optional<ForwardedSignals> signals;
  {
    BERTH_TRY_ASSIGN(s, ForwardedSignals::block());
    signals.emplace(std::move(s));
  }

  // The record and hooks are in hand: no state or config to read back.
  const oci::Hooks* hooks = c.spec.hooks ? &*c.spec.hooks : nullptr;
  {
    BERTH_TRY_ASSIGN(lock, store_.lock(id));
    if (auto r = start_init(c); !r) {
      lock.reset();
      (void)remove(id, true);
      return std::unexpected(std::move(r).error());
    }
  }
  if (detach) return 0;
  auto code = supervise(c.record.pid, *signals, c.pty_master);
  log::debug("run {}: process exited", id);
  c.pty_master.reset();
  // supervise() reaped the process: only the teardown of delete is left.
  const auto& namespaces = c.spec.linux->namespaces;
  const bool own_pid_ns = std::ranges::any_of(namespaces, [](const oci::Namespace& ns) {
    return ns.type == "pid" && ns.path.empty();
  });
  auto lock = store_.lock(id);
  auto r = lock ? delete_stopped(store_, c.record, hooks, own_pid_ns ? Stragglers::none : Stragglers::maybe)
                : Result<>(std::unexpected(lock.error()));
  if (!r) log::warn("delete container \"{}\": {}", id, r.error().what());
  return code;
}

}  // namespace berth::runtime
