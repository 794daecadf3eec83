// The flags of `berth run` and `berth create` (docker's and podman's
// spellings), turned into RunOptions by spec's parsers (engine/flags.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "base/error.h"
#include "engine/engine.h"
#include "engine/options.h"

namespace berth::tool {

struct RunFlags {
  engine::RunOptions o;
  std::vector<std::string> volumes, mounts, tmpfs, publish, ulimits, security_opts, labels, annotations;
  std::string entrypoint;
  bool entrypoint_set = false;
  std::string memory, memory_swap, cpus, restart = "no", pull = "missing";
  std::optional<int64_t> pids_limit;
  std::optional<int> stop_timeout;
  std::vector<std::string> args;  // image and command (after the flags)
};

void add_run_flags(CLI::App* cmd, RunFlags& f);
Result<engine::RunOptions> run_options(RunFlags& f, const std::vector<std::string>& remaining);

}  // namespace berth::tool
