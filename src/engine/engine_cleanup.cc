// The monitor's exit command (`berth container cleanup ID`) and the release
// of what a running container held.
#include <sys/mount.h>
#include <time.h>

#include <algorithm>
#include <cerrno>

#include "base/log.h"
#include "engine/engine_internal.h"
#include "engine/monitor.h"

namespace berth::engine {
namespace {

bool wants_restart(const ContainerRecord& c, int exit_code) {
  if (c.stopped_by_user) return false;
  switch (c.options.restart.policy) {
    case RestartPolicy::no:
      return false;
    case RestartPolicy::always:
    case RestartPolicy::unless_stopped:
      return true;
    case RestartPolicy::on_failure:
      return exit_code != 0 &&
             (c.options.restart.max_retries == 0 || c.restart_count < c.options.restart.max_retries);
  }
  return false;
}

}  // namespace

void Engine::Impl::release(const ContainerRecord& c) {
  if (auto h = handler(c.runtime); h) {
    if (auto r = (*h)->remove(c.id, true); !r && r.error().code() != ENOENT)
      log::debug("remove runtime state of {}: {}", c.id, r.error().what());
  }
  if (!c.netns.empty() && c.netns == paths().netns(c.id)) {  // its own (a pod's is the pod's)
    NetworkSetup s{c.id, c.netns, {}, c.ports, {c.name}};
    if (!c.options.network.empty()) s.networks = {c.options.network};
    // Off the caller's path (unless it publishes ports): nothing waits for it.
    if (auto r = nets().teardown_detached(s); !r) log::warn("network teardown of {}: {}", c.id, r.error().what());
  }
  std::string rootfs = paths().rootfs(c.id);
  if (::umount2(rootfs.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    log::warn("unmount \"{}\": {}", rootfs, std::strerror(errno));
}

Result<> Engine::Impl::cleanup_locked(std::string_view id, int* restart_delay_ms) {
  *restart_delay_ms = 0;
  auto found = db.container(id);
  if (!found && found.error().code() == ENOENT) return {};  // removed meanwhile (--rm, rm -f)
  if (!found) return std::unexpected(std::move(found).error());
  ContainerRecord c = std::move(*found);
  if (c.state == ContainerState::stopped) return {};  // done before
  BERTH_TRY_ASSIGN(exit, read_exit(paths().run_dir(c.id)));
  if (!exit) {
    // No exit file: nothing to do while the init lives (a stale call, or a
    // container that was never started).
    BERTH_TRY_ASSIGN(h, handler(c.runtime));
    auto st = h->state(c.id);
    if (st && st->status != oci::Status::stopped) return {};
    if (c.state == ContainerState::created && !st) return {};
    exit = ExitStatus{255, now_ns(), false};  // the monitor died without recording it
  }
  // --rm: removed at once (remove_locked releases first). Recording the exit
  // status would be a write deleted in the next; should the removal fail
  // half-way, the next cleanup finds the same row and tries again.
  if (c.options.remove) return remove_locked(c, true);
  release(c);
  BERTH_TRY_ASSIGN(updated, db.update_container(c.id, [&](ContainerRecord& r) -> Result<> {
    r.state = ContainerState::stopped;
    r.exit_code = exit->exit_code;
    r.oom_killed = exit->oom_killed;
    r.finished_at = exit->finished_at;
    r.pid = 0;
    r.monitor_pid = 0;
    r.netns.clear();
    return {};
  }));
  if (wants_restart(updated, exit->exit_code)) {
    // docker's back-off: 100 ms doubling per restart, at most 10 s here.
    *restart_delay_ms = std::min(100 << std::min(updated.restart_count, 7), 10000);
  }
  return {};
}

Result<> Engine::cleanup(std::string_view id) {
  int delay = 0;
  std::string full_id, pod_id;
  {
    auto c = impl_->db.container(id);
    if (!c && c.error().code() == ENOENT) return {};
    if (!c) return std::unexpected(std::move(c).error());
    full_id = c->id;
    if (!c->infra) pod_id = c->pod_id;
    BERTH_TRY_ASSIGN(lock, impl_->lock(full_id));
    BERTH_TRY(impl_->cleanup_locked(full_id, &delay));
  }
  if (delay == 0) {
    // A pod's --exit-policy stop: its last member has exited (out of the container's lock).
    if (!pod_id.empty())
      if (auto r = impl_->pods().member_exited(pod_id); !r) log::warn("pod of {}: {}", full_id, r.error().what());
    return {};
  }
  struct timespec ts = {delay / 1000, (delay % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  BERTH_TRY_ASSIGN(lock, impl_->lock(full_id));
  auto c = impl_->db.container(full_id);
  if (!c) return {};  // removed while waiting
  // A user's stop, start or rm during the delay wins over the policy.
  if (c->state != ContainerState::stopped || c->stopped_by_user) return {};
  BERTH_TRY_ASSIGN(counted, impl_->db.update_container(full_id, [](ContainerRecord& r) -> Result<> {
    ++r.restart_count;
    return {};
  }));
  return impl_->start_locked(counted);
}

}  // namespace berth::engine
