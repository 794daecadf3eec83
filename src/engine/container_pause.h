// `berth pause` / `berth unpause`: every process of a running container
// frozen (the cgroup freezer, through its runtime handler) and thawed again;
// the state is recorded as paused in berth.db meanwhile. Under the
// container's lock, so a concurrent stop or cleanup sees one or the other.
#pragma once

#include <string_view>

#include "base/error.h"
#include "engine/engine.h"

namespace berth::engine {

// EINVAL "container X is not running" (pause) / "... is not paused" (unpause).
Result<> pause_container(Engine& engine, std::string_view id_or_name);
Result<> unpause_container(Engine& engine, std::string_view id_or_name);

}  // namespace berth::engine
