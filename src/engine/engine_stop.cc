// stop, kill, restart, wait.
#include <signal.h>

#include <cerrno>

#include "base/log.h"
#include "engine/engine_internal.h"
#include "engine/monitor.h"

namespace berth::engine {
namespace {

bool alive(const ContainerRecord& c) {
  return c.state == ContainerState::running || c.state == ContainerState::paused ||
         c.state == ContainerState::created;
}

Result<> mark_stopped_by_user(EngineDb& db, const std::string& id) {
  BERTH_TRY(db.update_container(id, [](ContainerRecord& r) -> Result<> {
    r.stopped_by_user = true;
    return {};
  }));
  return {};
}

}  // namespace

Result<> Engine::stop(std::string_view id_or_name, std::optional<int> timeout) {
  BERTH_TRY_ASSIGN(c, container(id_or_name));
  BERTH_TRY(refuse_infra(impl_->db, c, "stop"));
  if (!alive(c) || c.pid <= 0) return cleanup(c.id);
  BERTH_TRY(mark_stopped_by_user(impl_->db, c.id));
  BERTH_TRY_ASSIGN(h, impl_->handler(c.runtime));
  std::string run_dir = impl_->paths().run_dir(c.id);
  int seconds = timeout.value_or(c.options.stop_timeout.value_or(10));
  if (c.state != ContainerState::created && seconds > 0) {
    BERTH_TRY_ASSIGN(sig, signal_number(c.options.stop_signal.empty() ? "TERM" : c.options.stop_signal));
    if (auto r = h->kill(c.id, sig, false); !r) log::debug("stop {}: {}", c.id, r.error().what());
    auto exited = wait_exit(run_dir, seconds * 1000);
    if (exited) return cleanup(c.id);
    if (exited.error().code() != ETIMEDOUT) return std::unexpected(std::move(exited).error());
  }
  if (auto r = h->kill(c.id, SIGKILL, true); !r) log::debug("stop {}: {}", c.id, r.error().what());
  BERTH_TRY(wait_exit(run_dir, 30000));
  return cleanup(c.id);
}

Result<> Engine::kill(std::string_view id_or_name, std::string_view signal) {
  BERTH_TRY_ASSIGN(c, container(id_or_name));
  BERTH_TRY(refuse_infra(impl_->db, c, "kill"));
  BERTH_TRY_ASSIGN(sig, signal_number(signal));
  if (c.state != ContainerState::running && c.state != ContainerState::paused)
    return std::unexpected(Error(EINVAL, fmt::format("container {} is not running", c.name)));
  BERTH_TRY(mark_stopped_by_user(impl_->db, c.id));
  BERTH_TRY_ASSIGN(h, impl_->handler(c.runtime));
  return h->kill(c.id, sig, false);
}

Result<> Engine::restart(std::string_view id_or_name, std::optional<int> timeout) {
  BERTH_TRY_ASSIGN(c, container(id_or_name));
  BERTH_TRY(stop(c.id, timeout));
  return start(c.id);
}

Result<int> Engine::wait(std::string_view id_or_name) {
  BERTH_TRY_ASSIGN(c, container(id_or_name));
  if (c.state == ContainerState::stopped) return c.exit_code;
  BERTH_TRY_ASSIGN(exit, wait_exit(impl_->paths().run_dir(c.id), -1));
  return exit.exit_code;
}

}  // namespace berth::engine
