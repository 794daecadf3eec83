// `berth pod stats [--no-stream] [--format json] [POD...]`: the resource
// usage of every running container of the pods (their infra included, as
// podman shows it), each row naming its pod; read as `berth stats` reads a
// container's (engine/stats.h). Podman's columns and JSON keys.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "engine/db.h"
#include "engine/stats.h"

namespace berth::engine {

struct PodContainerStats {
  std::string pod_id;
  ContainerStats stats;
};

// One reading of the pods named (every pod when none is), rows in pod then
// creation order. `previous` holds the last reading of each container (CPU %
// is computed between two), and is replaced with this one. ENOENT for a named
// pod that does not exist; a pod whose containers do not run has no rows.
class PodStatsReader {
 public:
  PodStatsReader(EngineDb& db, uint64_t host_memory) : db_(&db), host_memory_(host_memory) {}
  Result<std::vector<PodContainerStats>> read(const std::vector<std::string>& pods);

 private:
  EngineDb* db_;
  uint64_t host_memory_;
  std::map<std::string, StatsSample> previous_;
};

// podman's table (POD, CID, NAME, CPU %, MEM USAGE/ LIMIT, MEM %, NET IO,
// BLOCK IO, PIDS) and JSON array (Pod, CID, Name, CPU, MemUsage,
// MemUsageBytes, Mem, NetIO, BlockIO, PIDS).
std::string format_pod_stats_table(const std::vector<PodContainerStats>& rows);
std::string format_pod_stats_json(const std::vector<PodContainerStats>& rows);

}  // namespace berth::engine
