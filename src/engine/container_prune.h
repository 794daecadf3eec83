// `berth container prune`: removes every container that is not running
// (exited or created, as docker), with what their directories held (the
// writable layer, userdata, logs) counted as reclaimed space. Anonymous
// volumes stay (docker's rule: `volume prune` takes them).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "engine/engine.h"

namespace berth::engine {

struct PruneReport {
  std::vector<std::string> removed;  // ids
  uint64_t reclaimed = 0;            // bytes
  std::vector<Error> failures;       // containers that could not be removed (named in the errors)
};

Result<PruneReport> prune_containers(Engine& engine);

// Bytes a directory tree holds on disk (blocks; a hard-linked inode once).
uint64_t disk_usage(const std::string& dir);

}  // namespace berth::engine
