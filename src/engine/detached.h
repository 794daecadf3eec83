// Work off the caller's path: a grandchild process that outlives the caller
// (network teardowns, the removal of a container's directory trees).
#pragma once

#include <functional>

#include "base/error.h"

namespace berth::engine {

// Runs `fn` in a grandchild (the child exits at once and is reaped here, so
// no zombie stays with a long-lived caller), in a session of its own, with
// stdio on /dev/null (a caller's pipe must not wait for it) and no fd of the
// caller's but `keep` (moved to 3; -1: none). An error: no process for it.
Result<> run_detached(int keep, const std::function<void()>& fn);

}  // namespace berth::engine
