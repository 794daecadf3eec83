// OCI hooks: each runs with the container state on stdin, its own args and
// env, and a timeout (killed with SIGKILL when it passes).
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "oci/spec.h"

namespace berth::runtime {

// Runs one hook; fails on a non-zero exit, a signal or the timeout, with an
// error naming the hook's path and what happened (and its stderr's tail).
Result<> run_hook(const oci::Hook& hook, const std::string& state_json);
// Runs hooks in order, stopping at the first failure; `phase` names them in errors.
Result<> run_hooks(const std::vector<oci::Hook>& hooks, const std::string& state_json,
                   const char* phase);

}  // namespace berth::runtime
