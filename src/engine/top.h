// `berth top ID [ps options]`: the container's processes as the host's `ps`
// shows them (docker's top, runc's ps): ps runs with the options given
// (default -ef) and only the rows of the container's pids are kept.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "engine/handler.h"

namespace berth::engine {

Result<std::string> container_top(RuntimeHandler& handler, std::string_view id,
                                  const std::vector<std::string>& ps_args);

}  // namespace berth::engine
