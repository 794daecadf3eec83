// start and run: releasing a created init, and run's create + attach + start.
#include <unistd.h>

#include "base/log.h"
#include "engine/attach.h"
#include "engine/engine_internal.h"
#include "engine/monitor.h"

namespace berth::engine {

Result<> Engine::Impl::start_locked(ContainerRecord& c, const std::function<Result<>()>& before_start) {
  BERTH_TRY_ASSIGN(h, handler(c.runtime));
  bool fresh = false;
  if (c.state == ContainerState::created) {
    // A created init is waiting under its monitor unless the run state was
    // lost (a reboot emptied the runroot) or it was killed before start.
    auto st = h->state(c.id);
    fresh = st && st->status == oci::Status::created;
    if (!fresh) release(c);
  } else if (c.state == ContainerState::running || c.state == ContainerState::paused) {
    return {};
  }
  if (!fresh) BERTH_TRY(prepare(c));
  if (before_start) BERTH_TRY(before_start());
  BERTH_TRY(h->start(c.id));
  c.state = ContainerState::running;
  c.started_at = now_ns();
  c.stopped_by_user = false;
  c.oom_killed = false;  // docker's: it describes the last exit
  BERTH_TRY(db.update_container(c.id, [&](ContainerRecord& r) -> Result<> {
    r.state = c.state;
    r.started_at = c.started_at;
    r.stopped_by_user = false;
    r.oom_killed = false;
    return {};
  }));
  return {};
}

Result<> Engine::start(std::string_view id_or_name) {
  BERTH_TRY_ASSIGN(found, impl_->db.container(id_or_name));
  BERTH_TRY(refuse_infra(impl_->db, found, "start"));
  BERTH_TRY_ASSIGN(lock, impl_->lock(found.id));
  // A stopped container's cleanup may still be pending (its monitor's exit
  // command waits for this lock): do it first.
  int delay = 0;
  BERTH_TRY(impl_->cleanup_locked(found.id, &delay));
  BERTH_TRY_ASSIGN(c, impl_->db.container(found.id));
  return impl_->start_locked(c);
}

Result<std::optional<int>> Engine::start_attached(std::string_view id_or_name, bool stdin_open) {
  BERTH_TRY_ASSIGN(found, impl_->db.container(id_or_name));
  std::optional<Attachment> attached;
  {
    BERTH_TRY_ASSIGN(lock, impl_->lock(found.id));
    int delay = 0;
    BERTH_TRY(impl_->cleanup_locked(found.id, &delay));
    BERTH_TRY_ASSIGN(c, impl_->db.container(found.id));
    if (c.state == ContainerState::running || c.state == ContainerState::paused)
      return std::unexpected(Error(EBUSY, fmt::format("container {} is running: use attach", c.name)));
    AttachOptions ao;
    ao.stdin_open = stdin_open && c.options.interactive;
    ao.tty = c.options.tty;
    BERTH_TRY(impl_->start_locked(c, [&]() -> Result<> {
      BERTH_TRY_ASSIGN(a, Attachment::connect(impl_->paths().run_dir(c.id), ao));
      attached.emplace(std::move(a));
      return {};
    }));
  }
  return attached->relay();
}

Result<std::optional<int>> Engine::run(const RunOptions& options, PullPolicy pull, std::string* id) {
  BERTH_TRY_ASSIGN(c, create(options, pull));
  if (id) *id = c.id;
  if (options.detach) {
    BERTH_TRY_ASSIGN(lock, impl_->lock(c.id));
    BERTH_TRY(impl_->start_locked(c));
    return std::optional<int>(0);
  }
  // Attach before the start so that no output is lost.
  AttachOptions ao;
  ao.stdin_open = options.interactive;
  ao.tty = options.tty;
  // With --rm this process removes the container after the exit (below), so
  // the monitor need not start its exit command: a second berth process
  // that would only wait for the lock and find nothing to do.
  ao.cleans_up = options.remove;
  auto attached = Attachment::connect(impl_->paths().run_dir(c.id), ao);
  if (!attached) {
    (void)remove(c.id, true, true);
    return std::unexpected(std::move(attached).error());
  }
  {
    BERTH_TRY_ASSIGN(lock, impl_->lock(c.id));
    if (auto r = impl_->start_locked(c); !r) {
      lock.reset();
      if (options.remove) (void)remove(c.id, true, true);
      return std::unexpected(std::move(r).error());
    }
  }
  BERTH_TRY_ASSIGN(status, attached->relay());
  if (!status) return status;  // detached by the user: the container runs on
  if (options.remove) {
    // Done here, it is gone when run returns. On an error (or if this process
    // dies first) the monitor's exit command still runs and retries.
    BERTH_TRY(cleanup(c.id));
    auto gone = impl_->db.container(c.id);
    if (gone) BERTH_TRY(remove(c.id, true, true));
    (void)attached->cleaned_up();  // a monitor already gone runs nothing
  }
  return status;
}

}  // namespace berth::engine
