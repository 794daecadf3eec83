#include "engine/container_pause.h"

namespace berth::engine {
namespace {

Result<> change(Engine& engine, std::string_view id_or_name, bool pause) {
  BERTH_TRY_ASSIGN(found, engine.container(id_or_name));
  BERTH_TRY_ASSIGN(lock, lock_object(engine.paths().lock(found.id)));
  BERTH_TRY_ASSIGN(c, engine.container(found.id));  // again, under the lock
  ContainerState from = pause ? ContainerState::running : ContainerState::paused;
  if (c.state != from)
    return std::unexpected(Error(EINVAL, fmt::format("container {} is not {}", c.name, pause ? "running" : "paused")));
  BERTH_TRY_ASSIGN(handler, engine.handler(c.runtime));
  BERTH_TRY(pause ? handler->pause(c.id) : handler->resume(c.id));
  BERTH_TRY(engine.db().update_container(c.id, [&](ContainerRecord& r) -> Result<> {
    if (r.state == from) r.state = pause ? ContainerState::paused : ContainerState::running;
    return {};
  }));
  return {};
}

}  // namespace

Result<> pause_container(Engine& engine, std::string_view id_or_name) { return change(engine, id_or_name, true); }
Result<> unpause_container(Engine& engine, std::string_view id_or_name) { return change(engine, id_or_name, false); }

}  // namespace berth::engine
