// `ps`: the processes of a container, as runc prints them.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "runtime/container.h"

namespace berth::runtime {

enum class PsFormat { table, json };

// json: the array of the container's pids ("[12,13]"). table: runs the
// host's `ps` with `ps_args` (default -ef) and keeps its header and the rows
// whose PID column names a pid of the container.
Result<std::string> ps(const Runtime& runtime, const std::string& id, PsFormat format,
                       const std::vector<std::string>& ps_args);

// Runs the host's `ps ARGS` (found in PATH), stdout and stderr together as
// runc's CombinedOutput; a failure carries the output.
Result<std::string> run_ps(const std::vector<std::string>& args);

// The table filter on its own: `output` of ps, keeping the header and the
// rows of `pids`. Fails when the header has no PID column.
Result<std::string> filter_ps_output(std::string_view output, const std::vector<pid_t>& pids);

}  // namespace berth::runtime
