// `berth pod top POD [ps options]`: the processes of every running container
// of the pod (its infra included, as podman lists its pause process) in one
// table of the host's `ps` (default -ef), as `berth top` shows one container's.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth::engine {

class Engine;

// EINVAL when none of the pod's containers runs (podman: "pod is not running").
Result<std::string> pod_top(Engine& engine, std::string_view pod, const std::vector<std::string>& ps_args);

}  // namespace berth::engine
